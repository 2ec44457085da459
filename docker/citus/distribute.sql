-- Run on the coordinator's facepass_vector database after `facepass migrate` created the schema
-- (docs/scale-out.md). Every unique key of these tables includes event_id, and db_vector has no
-- foreign keys (test/vector-partitioning.test.ts checks both), so each table distributes as is,
-- co-located by event: one event's faces, participants, index registry and cohorts share a shard.
SELECT citus_set_coordinator_host('citus-coordinator', 5432);
SELECT citus_add_node('citus-worker-1', 5432);
SELECT citus_add_node('citus-worker-2', 5432);
SELECT create_distributed_table('face_embeddings', 'event_id', shard_count => 32);
SELECT create_distributed_table('participant_embeddings', 'event_id', colocate_with => 'face_embeddings');
SELECT create_distributed_table('event_vector_indexes', 'event_id', colocate_with => 'face_embeddings');
SELECT create_distributed_table('event_face_cohorts', 'event_id', colocate_with => 'face_embeddings');

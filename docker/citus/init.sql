-- Runs once on every Citus node's first start (coordinator and workers): the FacePass vector database
-- with the extensions it needs. Template only (docs/scale-out.md).
CREATE DATABASE facepass_vector;
\c facepass_vector
CREATE EXTENSION IF NOT EXISTS citus;
CREATE EXTENSION IF NOT EXISTS vector;
-- Searches set these per transaction with set_config(), which Citus does not forward to workers:
-- make them the workers' defaults instead (values chosen by npm run bench:search).
ALTER DATABASE facepass_vector SET hnsw.ef_search = 100;
ALTER DATABASE facepass_vector SET hnsw.iterative_scan = 'relaxed_order';

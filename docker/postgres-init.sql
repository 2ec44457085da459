-- Runs once, when the PostgreSQL volume is created: db_main is POSTGRES_DB, db_vector is made here.
CREATE DATABASE facepass_vector;
\connect facepass_vector
CREATE EXTENSION IF NOT EXISTS vector;

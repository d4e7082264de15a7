-- Run once by the postgres image on an empty data directory (compose.yaml
-- mounts it into /docker-entrypoint-initdb.d/): the agent's role. Example
-- password: change it here and in agent.toml.
CREATE ROLE headroom LOGIN PASSWORD 'headroom';
GRANT pg_monitor, pg_read_all_data TO headroom;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

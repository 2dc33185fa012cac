-- conf-examples/sql-postgres: tables and users.  psql -h 127.0.0.1 -U postgres -d <db> -f schema.sql
-- PostgreSQL compares text exactly (no case folding, trailing spaces count). With MariaDB/MySQL
-- declare the name columns `VARCHAR(255) COLLATE utf8mb4_nopad_bin` (docs/providers/sql.md).
-- Passwords: alice/alice-pw ($2y$ bcrypt), bob/bob-pw ($apr1$), dave/dave-pw ($6$ SHA-512
-- crypt); mallory is disabled.
CREATE TABLE users (
  username      VARCHAR(255) NOT NULL PRIMARY KEY,
  password_hash VARCHAR(255) NOT NULL,
  email         VARCHAR(255),
  disabled      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE user_groups (
  username  VARCHAR(255) NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  groupname VARCHAR(255) NOT NULL,
  PRIMARY KEY (username, groupname)
);
INSERT INTO users VALUES
  ('alice', '$2y$05$rsHvBEA4X4qF7GtYL8lVx.zYuC3k8T48dSkEQXaeV8n6sLTMXFSsK', 'alice@example.org', FALSE),
  ('bob',   '$apr1$4gulRkq5$3RKFWPmXATOOaAiqzbDKS/', 'bob@example.org', FALSE),
  ('dave',  '$6$s4ltS4lt$0MYbBIv8IG/zmulWC7EgJV6b1QO0B.bssg7bZqb7bCLLLsZZM4SA76z3pQ3TTW4tjglTPXG8Ouegr9ugEo/le0', NULL, FALSE),
  ('mallory', '$2y$05$mc75Gv4i6PDwxepsE5STbOMZ0FX/IBF8l5yLK946yIxXFznky1RHm', NULL, TRUE);
INSERT INTO user_groups VALUES ('alice', 'admins'), ('bob', 'developers'), ('dave', 'developers');

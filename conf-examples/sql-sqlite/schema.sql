-- conf-examples/sql-sqlite/users.db is made from this file by make-users-db.mjs.
-- SQLite compares TEXT with the BINARY collation: exact bytes, no case folding, trailing
-- spaces count. Passwords (for the README's curl lines): alice/alice-pw ($2y$ bcrypt),
-- bob/bob-pw ($apr1$), carol/carol-pw ({SHA}); mallory is disabled.
CREATE TABLE users (
  username      TEXT NOT NULL PRIMARY KEY,
  password_hash TEXT NOT NULL,
  email         TEXT,
  disabled      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE user_groups (
  username  TEXT NOT NULL,
  groupname TEXT NOT NULL,
  PRIMARY KEY (username, groupname)
);
INSERT INTO users VALUES
  ('alice', '$2y$05$rsHvBEA4X4qF7GtYL8lVx.zYuC3k8T48dSkEQXaeV8n6sLTMXFSsK', 'alice@example.org', 0),
  ('bob',   '$apr1$4gulRkq5$3RKFWPmXATOOaAiqzbDKS/', 'bob@example.org', 0),
  ('carol', '{SHA}hsAaMBat8aKiQgxhKhAqvbXOPbw=', NULL, 0),
  ('mallory', '$2y$05$mc75Gv4i6PDwxepsE5STbOMZ0FX/IBF8l5yLK946yIxXFznky1RHm', NULL, 1);
INSERT INTO user_groups VALUES ('alice', 'admins'), ('alice', 'staff'), ('bob', 'staff');

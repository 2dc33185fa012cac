// Re-creates users.db from schema.sql:  node conf-examples/sql-sqlite/make-users-db.mjs
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const here = dirname(fileURLToPath(import.meta.url));
const file = join(here, 'users.db');
rmSync(file, { force: true });
const db = new Database(file);
db.exec(readFileSync(join(here, 'schema.sql'), 'utf8'));
db.close();
console.log(`wrote ${file}`);

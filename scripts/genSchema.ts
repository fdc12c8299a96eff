/** Writes schemas/run-config.schema.json from the trainer's config schema (one source of truth). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { jsonSchemaDocument } from '../src/trainer/configSchema';

const out = path.join(process.argv[2] ?? process.cwd(), 'schemas', 'run-config.schema.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
const text = JSON.stringify(jsonSchemaDocument(), null, 2) + '\n';
if (!fs.existsSync(out) || fs.readFileSync(out, 'utf8') !== text) fs.writeFileSync(out, text);

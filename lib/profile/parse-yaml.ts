/**
 * One profile file's YAML → plain data plus the line and column of every key and value. The
 * `yaml` package is loaded only here and only when a file must really be parsed: loading and
 * warming it up is most of a dry-run's time, so unchanged files come from the cache in
 * parse-cache.ts instead.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Node } from 'yaml';
import { ProfileError } from '../errors.js';
import { formatKeyPath, type KeyPath } from './key-path.js';

/** 1-based, as editors count. */
export interface LineColumn {
  line: number;
  column: number;
}

export interface ParsedYaml {
  data: { [key: string]: unknown };
  /** Key path (`passthrough[0].host`) → where its key and its value start. */
  origins: { [keyPath: string]: { key?: LineColumn; value: LineColumn } };
}

/** This module's own file (or the bundle it was built into): the parse cache keys on it. */
export const PARSER_FILE = fileURLToPath(import.meta.url);

type YamlModule = typeof import('yaml');

let yamlModule: YamlModule | undefined;
// The package's Node build is CommonJS, so it can be loaded synchronously, on first use.
const loadYaml = (): YamlModule => (yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule);

/** Parses a profile's text; YAML errors become a ProfileError located in `shown` (the file as the user sees it). */
export function parseYaml(text: string, shown: string): ParsedYaml {
  const { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, visit } = loadYaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): LineColumn => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new ProfileError(doc.errors.map((error) => ({ file: shown, ...at(error.pos[0]), message: `invalid YAML: ${error.message.split('\n')[0]}` })));
  }
  if (!isMap(doc.contents)) {
    const where = doc.contents ? at(doc.contents.range[0]) : { line: 1, column: 1 };
    throw new ProfileError([{ file: shown, ...where, message: doc.contents ? 'expected a mapping of profile keys at the top level' : 'the profile is empty' }]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // toJS fails on aliases: point at the first one that does not resolve, if that is the cause.
    let where: LineColumn = { line: 1, column: 1 };
    visit(doc, {
      Alias(_, alias) {
        if (alias.resolve(doc) !== undefined || !alias.range) return undefined;
        where = at(alias.range[0]);
        return visit.BREAK;
      },
    });
    throw new ProfileError([{ file: shown, ...where, message: `invalid YAML: ${(error as Error).message}` }]);
  }
  const origins: ParsedYaml['origins'] = {};
  const record = (node: Node, path: KeyPath): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const keyPath = [...path, String(pair.key.value)];
        const key = at(pair.key.range![0]);
        const value = pair.value as Node | null;
        origins[formatKeyPath(keyPath)] = { key, value: value?.range ? at(value.range[0]) : key };
        if (value) record(value, keyPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const itemPath = [...path, index];
        const itemNode = item as Node | null;
        if (itemNode?.range) origins[formatKeyPath(itemPath)] = { value: at(itemNode.range[0]) };
        if (itemNode) record(itemNode, itemPath);
      });
    }
  };
  record(doc.contents, []);
  return { data: data as ParsedYaml['data'], origins };
}

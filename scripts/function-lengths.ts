/**
 * Lists the functions, methods and arrow functions of the TypeScript tree that are longer than a
 * limit (default 120 lines), longest first, with the line range and the name a reader would search
 * for. It measures what the compiler parses, so a long object literal of small arrows is not one
 * long function, but the factory that returns it is.
 *
 *   node bin/run-ts.js scripts/function-lengths.ts [--max 120] [--suites] [folder…]
 *
 * A function whose body carries a comment with `function-length:` (saying why it stays long) is
 * listed as noted rather than over. The exit code is 1 when any function is over and not noted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const DEFAULT_FOLDERS = ['src', 'activities', 'workflows', 'gateway', 'clients', 'workers', 'api', 'cli', 'scripts', 'testkit', 'bench', 'test'];
const SKIPPED = new Set(['node_modules', 'generated', '.mms', '.tools']);
const NOTE = 'function-length:';

interface FunctionLength {
  file: string;
  name: string;
  startLine: number;
  endLine: number;
  lines: number;
  noted: boolean;
}

function listTsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : listTsFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The name a reader would grep for: the declared name, or the variable / property / call it is bound to. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name) return node.name.getText(source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(source);
  if (ts.isCallExpression(parent)) return `<callback of ${parent.expression.getText(source).replace(/\s+/g, '').slice(0, 60)}>`;
  if (ts.isExportAssignment(parent)) return '<default export>';
  return '<anonymous>';
}

/**
 * A jest `describe` callback is a list of tests sharing set-up, not a piece of logic to change: it
 * is measured only with --suites.
 */
function isDescribeCallback(node: ts.Node, source: ts.SourceFile): boolean {
  return ts.isCallExpression(node.parent) && /^describe(\.\w+)?$/.test(node.parent.expression.getText(source));
}

/** Every function-like node with a body in one file, measured in lines from its first to its last line. */
function measureFile(file: string, withSuites: boolean): FunctionLength[] {
  const text = fs.readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: FunctionLength[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body && (withSuites || !isDescribeCallback(node, source))) {
      const fn = node as ts.FunctionLikeDeclaration;
      const startLine = source.getLineAndCharacterOfPosition(fn.getStart(source)).line + 1;
      const endLine = source.getLineAndCharacterOfPosition(fn.getEnd()).line + 1;
      found.push({ file, name: functionName(fn, source), startLine, endLine, lines: endLine - startLine + 1, noted: fn.getFullText(source).includes(NOTE) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { max: { type: 'string', default: '120' }, suites: { type: 'boolean', default: false } }, allowPositionals: true });
  const max = Number(values.max);
  if (!Number.isInteger(max) || max < 1) throw new Error(`--max must be a positive whole number of lines, got ${values.max}`);
  const folders = positionals.length > 0 ? positionals : DEFAULT_FOLDERS;
  const all = folders.flatMap(listTsFiles).flatMap((file) => measureFile(file, values.suites));
  const long = all.filter((f) => f.lines > max).sort((a, b) => b.lines - a.lines);
  for (const f of long) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.startLine}-${f.endLine}  ${f.name}${f.noted ? '  (noted: stays long)' : ''}`);
  const longest = all.reduce<FunctionLength | undefined>((a, b) => (a && a.lines >= b.lines ? a : b), undefined);
  const unnoted = long.filter((f) => !f.noted);
  console.log(`${all.length} functions in ${folders.join(' ')}; ${long.length} over ${max} lines (${unnoted.length} without a note); longest ${longest ? `${longest.lines} (${longest.name}, ${longest.file})` : 'none'}`);
  process.exitCode = unnoted.length > 0 ? 1 : 0;
}

main();

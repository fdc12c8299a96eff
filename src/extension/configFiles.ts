/**
 * Run config files (`*.attnlens.json`): a CodeLens “Launch” above each, and diagnostics on
 * the offending fields of a config that fails validation (the same validator the trainer
 * uses). Editors also get completion from the contributed JSON Schema.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { findNodeAtLocation, parseTree, type Node, type ParseError, printParseErrorCode } from 'jsonc-parser';
import { checkRunConfig } from '../trainer/configSchema';
import { Disposable } from './dispose';

export const CONFIG_GLOB = '**/*.attnlens.json';

export function isRunConfigFile(uri: vscode.Uri): boolean {
  return uri.path.endsWith('.attnlens.json');
}

export interface ConfigCheck {
  config: unknown;
  problems: { message: string; range: vscode.Range }[];
}

/** Parses and validates a config document; every problem with the range of its field. */
export function checkConfigDocument(doc: vscode.TextDocument): ConfigCheck {
  const text = doc.getText();
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const problems: ConfigCheck['problems'] = [];
  for (const e of errors) {
    const start = doc.positionAt(e.offset);
    problems.push({ message: `JSON: ${printParseErrorCode(e.error)}`, range: new vscode.Range(start, doc.positionAt(e.offset + Math.max(1, e.length))) });
  }
  if (errors.length > 0 || !root) {
    if (!root && errors.length === 0) problems.push({ message: 'empty file', range: new vscode.Range(0, 0, 0, 0) });
    return { config: undefined, problems };
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    problems.push({ message: `JSON: ${e instanceof Error ? e.message : String(e)}`, range: new vscode.Range(0, 0, 0, 0) });
    return { config: undefined, problems };
  }
  for (const p of checkRunConfig(config)) problems.push({ message: p.message, range: rangeOfPath(doc, root, p.path, /is not a known field/.test(p.message)) });
  return { config, problems };
}

/**
 * The range to underline for a problem at `dotted`: an unknown field's key, a present
 * field's value, or (for a missing field) the key of its nearest present parent.
 */
function rangeOfPath(doc: vscode.TextDocument, root: Node, dotted: string, onKey: boolean): vscode.Range {
  const segs = dotted === '' ? [] : dotted.split('.');
  for (let n = segs.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, segs.slice(0, n));
    if (!node) continue;
    const key = node.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
    const exact = n === segs.length;
    const t = (exact && !onKey) || !key ? node : key;
    const len = t.type === 'object' || t.type === 'array' ? 1 : t.length;
    return new vscode.Range(doc.positionAt(t.offset), doc.positionAt(t.offset + len));
  }
  return new vscode.Range(0, 0, 0, 1);
}

export class ConfigFiles extends Disposable implements vscode.CodeLensProvider {
  readonly diagnostics: vscode.DiagnosticCollection;
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;

  constructor() {
    super();
    this.diagnostics = this._register(vscode.languages.createDiagnosticCollection('attentionLens'));
    this._register(this.lensesChanged);
    this._register(vscode.languages.registerCodeLensProvider({ pattern: CONFIG_GLOB }, this));
    this._register(vscode.workspace.onDidOpenTextDocument((d) => this.validate(d)));
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.validate(e.document)));
    this._register(vscode.workspace.onDidCloseTextDocument((d) => this.diagnostics.delete(d.uri)));
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(() => this.lensesChanged.fire()));
    for (const d of vscode.workspace.textDocuments) this.validate(d);
  }

  /** Updates the diagnostics of a config document; returns its check. */
  validate(doc: vscode.TextDocument): ConfigCheck | undefined {
    if (!isRunConfigFile(doc.uri)) return undefined;
    const check = checkConfigDocument(doc);
    this.diagnostics.set(
      doc.uri,
      check.problems.map((p) => {
        const d = new vscode.Diagnostic(p.range, p.message, vscode.DiagnosticSeverity.Error);
        d.source = 'Attention Lens';
        return d;
      }),
    );
    return check;
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!isRunConfigFile(doc.uri) || !vscode.workspace.isTrusted) return [];
    return [
      new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), {
        command: 'attentionLens.launchConfigFile',
        title: '$(play) Launch',
        tooltip: `Train ${path.basename(doc.uri.fsPath)} and open its dashboard`,
        arguments: [doc.uri],
      }),
    ];
  }
}

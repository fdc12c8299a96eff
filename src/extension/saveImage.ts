/**
 * Saving an export through VS Code's save dialog (opened in the workspace folder with a
 * default name), then the file system: a PNG a webview rendered (webviews cannot download in
 * VS Code, so the bytes come to the host as `exportImage`), or runs as CSV / JSON.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { exportFileName } from './exportFileName';

const PREFIX = 'Attention Lens';

export interface SaveRequest {
  title: string;
  fileName: string;
  filters: Record<string, string[]>;
  /** The bytes, made once the user has chosen where (an export of long runs takes a moment). */
  bytes: () => Uint8Array;
  /** The log line and message once written, given where (e.g. `exported 2 runs to <file>`). */
  done: (file: string) => string;
  log: vscode.LogOutputChannel;
}

/** Asks where, writes, and says so; a write error is shown and logged. False if cancelled or failed. */
export async function saveThroughDialog(r: SaveRequest): Promise<boolean> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
  const uri = await vscode.window.showSaveDialog({ title: r.title, defaultUri: vscode.Uri.joinPath(folder, r.fileName), filters: r.filters });
  if (!uri) return false;
  let bytes: Uint8Array;
  try {
    bytes = r.bytes();
    await vscode.workspace.fs.writeFile(uri, bytes);
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    r.log.error(`could not save ${uri.fsPath}: ${text}`);
    void vscode.window.showErrorMessage(`${PREFIX}: could not save ${vscode.workspace.asRelativePath(uri)}: ${text}`);
    return false;
  }
  r.log.info(`${r.done(uri.fsPath)} (${bytes.length} bytes)`);
  void vscode.window.showInformationMessage(`${PREFIX}: ${r.done(vscode.workspace.asRelativePath(uri))}.`);
  return true;
}

export async function saveImage(png: Uint8Array, base: string, name: string, log: vscode.LogOutputChannel): Promise<void> {
  await saveThroughDialog({ title: `${PREFIX}: Save as PNG`, fileName: exportFileName(base, name, 'png'), filters: { 'PNG image': ['png'] }, bytes: () => png, done: (file) => `saved ${file}`, log });
}

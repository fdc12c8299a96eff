/**
 * Saves a PNG a webview rendered (a chart or heatmap): the save dialog, opened in the
 * workspace folder with a default name from the run and the chart, then the file system.
 * Webviews cannot download in VS Code, so the bytes come to the host (`exportImage`).
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { imageFileName } from './imageFileName';

const PREFIX = 'Attention Lens';

export async function saveImage(png: Uint8Array, base: string, name: string, log: vscode.LogOutputChannel): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
  const uri = await vscode.window.showSaveDialog({
    title: `${PREFIX}: Save as PNG`,
    defaultUri: vscode.Uri.joinPath(folder, imageFileName(base, name)),
    filters: { 'PNG image': ['png'] },
  });
  if (!uri) return;
  try {
    await vscode.workspace.fs.writeFile(uri, png);
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    log.error(`could not save ${uri.fsPath}: ${text}`);
    void vscode.window.showErrorMessage(`${PREFIX}: could not save ${vscode.workspace.asRelativePath(uri)}: ${text}`);
    return;
  }
  log.info(`saved ${name} (${png.length} bytes) to ${uri.fsPath}`);
  void vscode.window.showInformationMessage(`${PREFIX}: saved ${vscode.workspace.asRelativePath(uri)}.`);
}

/**
 * The workspace's run config files (*.attnlens.json). VS Code's file search can come back
 * empty for a while after a window opens (its search service is still starting, as seen in
 * code-server); then the workspace folders are walked directly, a few levels deep.
 */
import * as vscode from 'vscode';
import { CONFIG_GLOB } from './configFiles';

const SUFFIX = '.attnlens.json';
const MAX_DEPTH = 4;
const SKIP = new Set(['node_modules', '.git', 'out', 'dist']);

export async function findConfigFiles(max = 100): Promise<vscode.Uri[]> {
  const found = await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**', max);
  if (found.length > 0) return found;
  const out: vscode.Uri[] = [];
  const walk = async (dir: vscode.Uri, depth: number): Promise<void> => {
    let entries: [string, vscode.FileType][];
    try {
      entries = await vscode.workspace.fs.readDirectory(dir);
    } catch {
      return; // unreadable folder: skip it
    }
    for (const [name, type] of entries) {
      if (out.length >= max) return;
      if (type === vscode.FileType.File && name.endsWith(SUFFIX)) out.push(vscode.Uri.joinPath(dir, name));
      else if (type === vscode.FileType.Directory && depth < MAX_DEPTH && !SKIP.has(name) && !name.startsWith('.')) await walk(vscode.Uri.joinPath(dir, name), depth + 1);
    }
  };
  for (const f of vscode.workspace.workspaceFolders ?? []) await walk(f.uri, 0);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** The HTML of a dashboard or side view: strict CSP, nonce'd bundle, only the extension's own files. */
import * as vscode from 'vscode';
import { webviewHtml } from './webviewHtml';
import { nonce } from './webviewBridge';

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

export function renderWebview(webview: vscode.Webview, extensionUri: vscode.Uri, view: Parameters<typeof webviewHtml>[0]['view'], title: string): string {
  return webviewHtml({
    view,
    title,
    cspSource: webview.cspSource,
    nonce: nonce(),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'dashboard.css')).toString(),
  });
}

/**
 * The webview page's HTML, for the extension host (no DOM, no vscode import): a strict
 * Content-Security-Policy — nothing by default, scripts only with this page's nonce, styles,
 * fonts and images only from the extension's own files — and the view to render in
 * <body data-view>. The script builds the page; there is no inline script or style.
 */

export interface WebviewHtmlOptions {
  view: 'dashboard' | 'sidebar' | 'compare';
  /** webview.cspSource: the origin of the extension's local resources. */
  cspSource: string;
  /** A fresh random nonce per page load (base64 / alphanumeric). */
  nonce: string;
  /** webview.asWebviewUri of dist/webview.js. */
  scriptUri: string;
  /** webview.asWebviewUri of media/dashboard.css. */
  styleUri: string;
  title: string;
}

/** Escape for text and double-quoted attributes (single quotes stay: the CSP reads better). */
const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ESC[c] ?? c);

/** The Content-Security-Policy of the page. */
export function webviewCsp(cspSource: string, nonce: string): string {
  return `default-src 'none'; img-src ${cspSource} data:; style-src ${cspSource}; font-src ${cspSource}; script-src 'nonce-${nonce}';`;
}

export function webviewHtml(opts: WebviewHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(opts.nonce)) throw new Error('webviewHtml: the nonce must be base64 or alphanumeric');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${esc(webviewCsp(opts.cspSource, opts.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${esc(opts.styleUri)}">
<title>${esc(opts.title)}</title>
</head>
<body data-view="${opts.view === 'sidebar' || opts.view === 'compare' ? opts.view : 'dashboard'}">
<div id="app" class="al-app"></div>
<script nonce="${esc(opts.nonce)}" src="${esc(opts.scriptUri)}"></script>
</body>
</html>
`;
}

/** A base for objects that own disposables: register them once, dispose them together. */
import * as vscode from 'vscode';

export abstract class Disposable implements vscode.Disposable {
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];

  get isDisposed(): boolean {
    return this.disposed;
  }

  protected _register<T extends vscode.Disposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.disposables.push(d);
    return d;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

/** Wraps an unsubscribe function (as returned by the runs module's emitters). */
export function toDisposable(fn: () => void): vscode.Disposable {
  return { dispose: fn };
}

/**
 * The workspace's git commit, read from the .git directory's files (HEAD, refs, packed-refs)
 * without running git, for a run's metadata. Handles linked worktrees and submodules (a .git
 * file pointing elsewhere). Undefined when the folder is not inside a git work tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The git directory of the work tree containing `dir`, searching upward. */
function findGitDir(dir: string): string | undefined {
  let d = path.resolve(dir);
  for (;;) {
    const dotGit = path.join(d, '.git');
    try {
      const st = fs.statSync(dotGit);
      if (st.isDirectory()) return dotGit;
      if (st.isFile()) {
        const m = /^gitdir:\s*(.+?)\s*$/m.exec(readText(dotGit) ?? '');
        if (m) return path.resolve(d, m[1]!);
      }
    } catch {
      // not here; look further up
    }
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

function resolveRef(gitDir: string, ref: string): string | undefined {
  // A linked worktree keeps its HEAD in gitDir and shares refs with the common dir.
  const common = readText(path.join(gitDir, 'commondir'))?.trim();
  const dirs = common ? [gitDir, path.resolve(gitDir, common)] : [gitDir];
  for (const g of dirs) {
    const loose = readText(path.join(g, ...ref.split('/')))?.trim();
    if (loose && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
    for (const line of (readText(path.join(g, 'packed-refs')) ?? '').split('\n')) {
      const [sha, name] = line.trim().split(' ');
      if (name === ref && sha && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
    }
  }
  return undefined;
}

/** The commit checked out in the work tree containing `dir`, and its branch when HEAD is on one. */
export function gitCommit(dir: string): { commit: string; branch?: string } | undefined {
  const gitDir = findGitDir(dir);
  if (!gitDir) return undefined;
  const head = readText(path.join(gitDir, 'HEAD'))?.trim();
  if (!head) return undefined;
  if (/^[0-9a-f]{40,64}$/.test(head)) return { commit: head };
  const m = /^ref:\s*(\S+)$/.exec(head);
  if (!m) return undefined;
  const commit = resolveRef(gitDir, m[1]!);
  if (!commit) return undefined; // a branch with no commits yet
  return { commit, branch: m[1]!.replace(/^refs\/heads\//, '') };
}

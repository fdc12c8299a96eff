/**
 * The order of the dashboard's cards and which are collapsed, as the person left them: the
 * attention card first by default (it is what the dashboard is for), then the built-in charts,
 * then the run's declared measurements. A saved order names cards by id (`attention`, `loss`,
 * `accuracy`, `gradients`, `identity`, `measure:<card>`, `matrix:<id>`); cards it does not
 * name (a measurement new to this run) keep their default place after their predecessor.
 */

export const BUILT_IN_CARDS: readonly string[] = ['attention', 'loss', 'accuracy', 'gradients', 'identity'];

/** The cards `present` (in their default order) in the order `saved` gives them. */
export function orderCards(present: readonly string[], saved: readonly string[]): string[] {
  const here = new Set(present);
  const out = saved.filter((id, i) => here.has(id) && saved.indexOf(id) === i);
  const placed = new Set(out);
  present.forEach((id, i) => {
    if (placed.has(id)) return;
    // After the nearest card before it (in the default order) that is placed; else first.
    let at = 0;
    for (let j = i - 1; j >= 0; j--) {
      const k = out.indexOf(present[j] as string);
      if (k >= 0) {
        at = k + 1;
        break;
      }
    }
    out.splice(at, 0, id);
    placed.add(id);
  });
  return out;
}

/**
 * `order` with card `id` moved `delta` places among the cards `visible` says are shown (a
 * hidden card, such as the identity chart of a run that is not a Lu model, is passed over).
 */
export function moveCard(order: readonly string[], id: string, delta: number, visible: (id: string) => boolean = () => true): string[] {
  const out = [...order];
  let i = out.indexOf(id);
  if (i < 0) return out;
  const dir = Math.sign(delta);
  for (let k = 0; k < Math.abs(delta); k++) {
    let j = i + dir;
    while (j >= 0 && j < out.length && !visible(out[j] as string)) j += dir;
    if (j < 0 || j >= out.length) break;
    out.splice(i, 1);
    out.splice(j, 0, id);
    i = j;
  }
  return out;
}

/** `collapsed` with `id` collapsed or expanded. */
export function setCollapsed(collapsed: readonly string[], id: string, on: boolean): string[] {
  const rest = collapsed.filter((x) => x !== id);
  return on ? [...rest, id] : rest;
}

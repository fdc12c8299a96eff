/** Thin wrappers over @vscode-elements: buttons and dropdowns built without markup strings. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import { h } from './dom';

export function button(label: string, cls: string, onClick: () => void, secondary = false): VscodeButton {
  const b = h('vscode-button', cls, { secondary }, [label]) as VscodeButton;
  b.addEventListener('click', () => {
    if (!b.disabled) onClick();
  });
  return b;
}

/**
 * "Save PNG" for one chart or heatmap: `render` makes the PNG bytes and posts them; the
 * button is disabled meanwhile, so one click saves one file.
 */
export function exportButton(what: string, cls: string, render: () => Promise<void>): VscodeButton {
  const b = button('Save PNG', `al-export ${cls}`.trim(), () => {
    b.disabled = true;
    render()
      .catch((e: unknown) => console.warn(`[attention-lens] could not export ${what}: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => (b.disabled = false));
  }, true);
  b.setAttribute('aria-label', `Save ${what} as PNG`);
  b.title = `Save ${what} as a PNG image`;
  return b;
}

/** The right-hand side of a card's title row: its note and buttons, in one line. */
export function cardSide(children: HTMLElement[]): HTMLElement {
  const el = h('span', 'al-card-side', {}, children);
  // CSSOM writes are allowed by the CSP (style attributes in markup are not).
  el.style.display = 'inline-flex';
  el.style.alignItems = 'center';
  el.style.gap = '8px';
  // Stays on the right when a long title pushes it onto a second line.
  el.style.marginLeft = 'auto';
  return el;
}

export function setDisabled(b: VscodeButton, disabled: boolean): void {
  if (b.disabled !== disabled) b.disabled = disabled;
}

export interface Select {
  el: HTMLElement;
  select: VscodeSingleSelect;
  /** Replace the options (only when they differ) and select `value`. */
  setOptions(options: { value: string; label: string }[], value: string): void;
}

export function select(label: string, cls: string, onChange: (value: string) => void): Select {
  const sel = h('vscode-single-select', 'al-select', { 'aria-label': label }) as VscodeSingleSelect;
  const el = h('label', `al-field ${cls}`, {}, [h('span', 'al-field-label', {}, [label]), sel]);
  let key = '';
  sel.addEventListener('change', () => onChange(sel.value));
  return {
    el,
    select: sel,
    setOptions(options, value) {
      const k = options.map((o) => `${o.value}\u0001${o.label}`).join('\u0002');
      if (k !== key) {
        key = k;
        sel.replaceChildren(...options.map((o) => h('vscode-option', '', { value: o.value, selected: o.value === value }, [o.label])));
      }
      if (sel.value !== value) sel.value = value;
    },
  };
}

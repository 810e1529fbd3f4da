// The trust, history and tools panels. On wide screens they stand beside the stage and the Trust
// button folds the trust column. On narrow ones (phones, tablets: the same 900 px breakpoint as
// app.css) each is a drawer opened by its button in the header, one at a time and modal: focus
// moves into it and stays there, and Escape, its Close button or a tap beside it closes it and
// gives focus back to the button that opened it.

export const NARROW = "(max-width: 900px)";

interface MediaQuery {
  matches: boolean;
  addEventListener?: (type: "change", listener: () => void) => void;
}

export interface PanelsView {
  matchMedia?: (query: string) => MediaQuery;
}

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled])",
  "select",
  "textarea",
  "summary",
  "[tabindex]:not([tabindex='-1'])",
].join(", ");

export interface Panels {
  /** Closes the open drawer, if any. */
  close(): void;
}

export function mountPanels(doc: Document, view: PanelsView): Panels {
  const scrim = doc.getElementById("scrim")!;
  const toggles = [...doc.querySelectorAll<HTMLButtonElement>("[data-panel-toggle]")];
  const query = view.matchMedia?.(NARROW);
  const narrow = () => query?.matches === true;
  let open: { panel: HTMLElement; toggle: HTMLButtonElement } | undefined;

  const panelOf = (toggle: HTMLButtonElement) =>
    doc.getElementById(toggle.getAttribute("aria-controls")!)!;
  // What Tab can reach: not inside something hidden or a closed <details> (its summary aside).
  const reachable = (el: HTMLElement) =>
    !el.closest("[hidden]") && !el.closest("details:not([open]) > :not(summary)");
  const focusables = (panel: HTMLElement) =>
    [...panel.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(reachable);

  const close = (returnFocus = true) => {
    if (!open) return;
    const { panel, toggle } = open;
    open = undefined;
    delete panel.dataset.open;
    panel.removeAttribute("role");
    panel.removeAttribute("aria-modal");
    toggle.setAttribute("aria-expanded", "false");
    scrim.hidden = true;
    doc.body.classList.remove("drawer-open");
    if (returnFocus) toggle.focus();
  };

  const openDrawer = (toggle: HTMLButtonElement) => {
    close(false);
    const panel = panelOf(toggle);
    panel.hidden = false;
    panel.dataset.open = "";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "true");
    toggle.setAttribute("aria-expanded", "true");
    scrim.hidden = false;
    doc.body.classList.add("drawer-open");
    open = { panel, toggle };
    (panel.querySelector<HTMLElement>("[data-panel-close]") ?? panel).focus();
  };

  for (const toggle of toggles) {
    toggle.setAttribute("aria-expanded", narrow() ? "false" : String(!panelOf(toggle).hidden));
    toggle.addEventListener("click", () => {
      if (narrow()) {
        if (open?.toggle === toggle) close();
        else openDrawer(toggle);
        return;
      }
      // Wide: the panel folds in place (only Trust's button is shown there).
      const panel = panelOf(toggle);
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
    });
  }
  for (const button of doc.querySelectorAll<HTMLButtonElement>("[data-panel-close]")) {
    button.addEventListener("click", () => close());
  }
  scrim.addEventListener("click", () => close());
  doc.addEventListener("keydown", (event) => {
    if (!open) return;
    if (event.key === "Escape") {
      event.preventDefault();
      close();
      return;
    }
    if (event.key !== "Tab") return;
    // Keep focus inside the open drawer.
    const items = focusables(open.panel);
    if (items.length === 0) return;
    const first = items[0]!;
    const last = items[items.length - 1]!;
    const active = doc.activeElement;
    if (event.shiftKey && (active === first || !open.panel.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !open.panel.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  });
  // Back to a wide screen (a rotated tablet): the drawer becomes a column again.
  query?.addEventListener?.("change", () => {
    if (!narrow()) close(false);
  });

  return { close: () => close() };
}

// Two small SVG charts, drawn with DOM calls (no library, nothing but this server under the CSP):
// stacked bars (answered and errors per bucket) and a line with its peak labelled.
const SVG = "http://www.w3.org/2000/svg";

function element(
  doc: Document,
  name: string,
  attributes: Record<string, string | number>,
): SVGElement {
  const el = doc.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  return el;
}

function size(svg: SVGSVGElement) {
  const [, , width = 900, height = 100] = (svg.getAttribute("viewBox") ?? "")
    .split(" ")
    .map(Number);
  return { width, height };
}

function label(svg: SVGSVGElement, text: string) {
  const el = element(svg.ownerDocument, "text", { x: 4, y: 12, class: "chart-label" });
  el.textContent = text;
  svg.append(el);
}

export function stackedBars(svg: SVGSVGElement, points: { ok: number; bad: number }[]) {
  const { width, height } = size(svg);
  const max = Math.max(1, ...points.map((p) => p.ok + p.bad));
  const step = width / Math.max(1, points.length);
  const bars = points.flatMap((p, i) => {
    const okHeight = (p.ok / max) * (height - 16);
    const badHeight = (p.bad / max) * (height - 16);
    const x = i * step + 1;
    const w = Math.max(1, step - 2);
    return [
      element(svg.ownerDocument, "rect", {
        x,
        y: height - okHeight - badHeight,
        width: w,
        height: badHeight,
        class: "bar-bad",
      }),
      element(svg.ownerDocument, "rect", {
        x,
        y: height - okHeight,
        width: w,
        height: okHeight,
        class: "bar-ok",
      }),
    ];
  });
  svg.replaceChildren(...bars);
  label(svg, `peak ${max} calls`);
}

export function line(svg: SVGSVGElement, values: (number | null)[], unit: string) {
  const { width, height } = size(svg);
  const present = values.filter((v): v is number => v !== null);
  const max = Math.max(1, ...present);
  const step = width / Math.max(1, values.length - 1);
  let path = "";
  const dots: SVGElement[] = [];
  values.forEach((v, i) => {
    if (v === null) return;
    const x = (i * step).toFixed(1);
    const y = (height - 3 - (v / max) * (height - 18)).toFixed(1);
    path += `${path && values[i - 1] !== null ? "L" : "M"}${x},${y} `;
    // A bucket without neighbours would be an invisible line: each value also gets a dot.
    dots.push(element(svg.ownerDocument, "circle", { cx: x, cy: y, r: 2.5, class: "dot" }));
  });
  svg.replaceChildren(
    element(svg.ownerDocument, "path", { d: path.trim() || "M0,0", class: "line" }),
    ...dots,
  );
  label(svg, present.length ? `peak ${max.toFixed(max < 10 ? 2 : 0)} ${unit}` : "no calls yet");
}

// Content negotiation by the Accept header (RFC 9110 §12.5.1), for routes that serve one
// resource in several forms: the highest q wins, then the most specific range, then the range
// the client listed first, then the route's own order. No header, or nothing acceptable, is the
// route's first form: a client that cannot say what it wants still gets an answer.
interface Range {
  type: string;
  subtype: string;
  q: number;
  position: number;
}

function parseAccept(header: string): Range[] {
  return header.split(",").flatMap((part, position) => {
    const [media = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const [type, subtype] = media.split("/");
    if (!type || !subtype) return [];
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    return Number.isFinite(q) && q >= 0 && q <= 1 ? [{ type, subtype, q, position }] : [];
  });
}

export function preferredType<T extends string>(
  accept: string | undefined,
  offers: readonly [T, ...T[]],
): T {
  const ranges = parseAccept(accept ?? "");
  let best: { offer: T; q: number; specificity: number; position: number } | undefined;
  for (const offer of offers) {
    const [type, subtype] = offer.split("/");
    let match: { q: number; specificity: number; position: number } | undefined;
    for (const r of ranges) {
      const specificity =
        r.type === type && r.subtype === subtype
          ? 2
          : r.type === type && r.subtype === "*"
            ? 1
            : r.type === "*" && r.subtype === "*"
              ? 0
              : -1;
      if (specificity >= 0 && (!match || specificity > match.specificity))
        match = { q: r.q, specificity, position: r.position };
    }
    if (!match || match.q === 0) continue;
    const better =
      !best ||
      match.q > best.q ||
      (match.q === best.q &&
        (match.specificity > best.specificity ||
          (match.specificity === best.specificity && match.position < best.position)));
    if (better) best = { offer, ...match };
  }
  return best?.offer ?? offers[0];
}

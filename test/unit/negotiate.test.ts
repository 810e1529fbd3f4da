// Accept negotiation for GET /report/:app: browsers get the page, curl and SDKs get JSON, an
// explicit text/markdown gets markdown, and odd headers never throw.
import { describe, expect, test } from "bun:test";
import { preferredType } from "../../src/http/negotiate.ts";

const OFFERS = ["application/json", "text/markdown", "text/html"] as const;
const pick = (accept: string | undefined) =>
  preferredType(accept, [...OFFERS] as [string, ...string[]]);

describe("preferredType", () => {
  test.each([
    [undefined, "application/json"],
    ["", "application/json"],
    ["*/*", "application/json"],
    [
      "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
      "text/html",
    ],
    ["text/markdown", "text/markdown"],
    ["text/*", "text/markdown"],
    ["application/json, text/html", "application/json"],
    ["text/html;q=0.5, application/json;q=0.9", "application/json"],
    ["text/html;q=0, */*", "application/json"],
    ["text/markdown;q=0.2, text/*;q=0.9", "text/html"],
    ["image/png", "application/json"],
    ["TEXT/HTML", "text/html"],
  ])("Accept %p → %p", (accept, expected) => expect(pick(accept)).toBe(expected));

  test("garbage is ignored, never thrown", () => {
    for (const accept of [
      ",,,",
      "text",
      "/",
      "text/html;q=abc",
      "text/html;q=2",
      ";q=1",
      "a/b/c;;;q=",
      "\u0000/\u0000",
    ]) {
      expect(OFFERS).toContain(pick(accept) as (typeof OFFERS)[number]);
    }
    expect(pick("text/html;q=abc")).toBe("application/json");
  });
});

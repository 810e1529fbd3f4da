// Function session ids must be unguessable (a UUID, or ≥ 22 base64url characters): tests that
// want a readable, repeatable one pad a short name to 22 characters.
export const sid = (name: string): string => name.padEnd(22, "_");

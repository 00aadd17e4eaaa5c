/**
 * The one part of `node:crypto` the Worker still uses, for the files the structure test
 * `test/structure/web-crypto.test.ts` allow-lists (each hashes with `createHash`); nothing else of
 * Node is visible to Worker code. Delete this file when that allow-list is empty.
 */
declare module "node:crypto" {
  interface Hash {
    update(data: string | Uint8Array): Hash;
    digest(encoding: "hex" | "base64" | "base64url"): string;
  }
  export function createHash(algorithm: "sha1" | "sha256"): Hash;
}

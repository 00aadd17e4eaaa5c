/** The slice of imurmurhash (a transitive dependency of @openfeature/flagd-core) the tests use. */
declare module "imurmurhash" {
  export default class MurmurHash3 {
    constructor(key?: string, seed?: number);
    hash(key: string): this;
    result(): number;
  }
}

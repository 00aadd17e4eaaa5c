/** The admin API's problem+json mapper lives in `contracts/problem.ts`, shared with the edge's ingest routes. */
export * from "../contracts/problem";

// zod's settings for the program: imported by cli.ts before any module that
// defines a schema, because zod reads them as each schema is made.
//
// jitless: a schema compiles a fast path of its own on its first parse; the
// program parses a handful of values per schema and run, where building that
// code cost more than it saved (8–13 ms of a small build's CPU profile).
import * as z from "zod";

z.config({ jitless: true });

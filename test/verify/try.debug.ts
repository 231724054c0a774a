import { makeContractImage, scratch } from "./contract-image.js";
import { verifyCommand } from "../../scripts/commands/verify.js";
const s = await scratch();
const img = await makeContractImage(s.dir);
console.log(img.path);
const t = Date.now();
const code = await verifyCommand(img.path, { shim: img.shimPath });
console.log("exit", code, Date.now() - t, "ms");
await s.cleanup();

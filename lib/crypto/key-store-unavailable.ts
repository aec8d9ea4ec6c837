// The key store (an HSM, later a cloud KMS) cannot be reached at run time: the caller gets 503 +
// Retry-After (an AppError "service_unavailable"), never a 500 nor a "does not authenticate"
// answer that would read as corrupt data. Key sources throw it for faults of the store itself
// (device, session, network), never for a blob or AAD that fails to authenticate.
import { AppError } from "@/lib/errors";

export class KeyStoreUnavailableError extends AppError {
  constructor() {
    super("service_unavailable", "Frontdesk cannot reach its key store right now; retry shortly");
    this.name = "KeyStoreUnavailableError";
  }
}

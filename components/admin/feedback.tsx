"use client";
// The outcome of the last admin action, announced in one live region that belongs to the admin
// layout: it survives the re-render that follows an action (a revoked row loses its form, but
// the message "Connection revoked" must still be shown). Cleared on navigation.
import { usePathname } from "next/navigation";
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";

export interface Feedback {
  ok: boolean;
  message: string;
  at: number;
}

const FeedbackContext = createContext<((f: Feedback) => void) | null>(null);

export function useAdminFeedback(): ((f: Feedback) => void) | null {
  return useContext(FeedbackContext);
}

export function AdminFeedbackProvider({ children }: { children: ReactNode }) {
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const pathname = usePathname();
  useEffect(() => setFeedback(null), [pathname]);
  const publish = useCallback((f: Feedback) => setFeedback(f), []);
  return (
    <FeedbackContext.Provider value={publish}>
      {children}
      <div className="pointer-events-none fixed inset-x-0 bottom-4 z-50 flex justify-center px-4">
        {/* Live regions exist before their content changes, so screen readers announce it. */}
        <div role="status" aria-live="polite" className="pointer-events-auto max-w-2xl">
          {feedback?.ok ? <Toast key={feedback.at} feedback={feedback} onClose={() => setFeedback(null)} /> : null}
        </div>
        <div role="alert" className="pointer-events-auto max-w-2xl">
          {feedback && !feedback.ok ? <Toast key={feedback.at} feedback={feedback} onClose={() => setFeedback(null)} /> : null}
        </div>
      </div>
    </FeedbackContext.Provider>
  );
}

function Toast({ feedback, onClose }: { feedback: Feedback; onClose: () => void }) {
  return (
    <div className={`flex items-start gap-4 rounded-md border p-4 text-sm shadow-lg ${feedback.ok ? "border-emerald-300 bg-emerald-50 text-emerald-950" : "border-red-300 bg-red-50 text-red-950"}`}>
      <p>{feedback.message}</p>
      <button type="button" onClick={onClose} className="font-medium underline" aria-label="Dismiss message">
        Dismiss
      </button>
    </div>
  );
}

// Pages drawn in jsdom for the unit tests: the real ApiClient (signed in on
// the in-memory gateway, fakeServer.ts, or on a test's own fetch), a fresh
// query cache that never retries, and a router.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { ApiClient } from "../api/client";
import { ApiProvider } from "../api/context";
import { memoryStore, type FakeServer } from "./fakeServer";

/** A client signed in as the fake server's agent. */
export async function signedInClient(server: FakeServer): Promise<ApiClient> {
  const client = new ApiClient({ store: memoryStore(), fetch: server.fetch });
  await client.login("acme", "agent@acme.test", "right");
  return client;
}

/** Draws page with client, as the console's App would. */
export function drawPage(client: ApiClient, page: ReactNode): void {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <ApiProvider client={client}>
      <QueryClientProvider client={qc}>
        <MemoryRouter>{page}</MemoryRouter>
      </QueryClientProvider>
    </ApiProvider>,
  );
}

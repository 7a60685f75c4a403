// The client and the signed-in user, for every page.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { ApiClient } from "./client";
import type { User } from "./types";

const ApiContext = createContext<ApiClient | null>(null);

export function ApiProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  return <ApiContext.Provider value={client}>{children}</ApiContext.Provider>;
}

export function useApi(): ApiClient {
  const client = useContext(ApiContext);
  if (!client) throw new Error("useApi outside ApiProvider");
  return client;
}

/** The signed-in user (null when signed out), following every change. */
export function useUser(): User | null {
  const client = useApi();
  const [user, setUser] = useState<User | null>(client.user);
  useEffect(() => {
    setUser(client.user);
    return client.subscribe(setUser);
  }, [client]);
  return user;
}

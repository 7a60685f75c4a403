import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { ApiClient, sessionTokenStore } from "./api/client";
import "./index.css";

const client = new ApiClient({ store: sessionTokenStore() });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App client={client} />
  </StrictMode>,
);

import type { Role } from "../api/types";

/** The first page of each role's face of the console. */
export function homeOf(role: Role): string {
  switch (role) {
    case "customer":
      return "/portal";
    case "admin":
    case "agent":
      return "/agent";
    case "technician":
      return "/field/my";
    case "platform_admin":
      return "/platform";
  }
}

import { createContext, useContext } from 'react';

/** The logged-in caller, from `whoami`: its project, roles and the policy rules it satisfies. */
export interface Me {
  userName: string | null;
  projectId: string | null;
  roles: string[];
  allowed: string[];
}

export const WHOAMI = 'query { whoami { kind userName projectId roles allowed } }';

export const MeContext = createContext<Me>({ userName: null, projectId: null, roles: [], allowed: [] });

/** Whether the caller may do what policy rule `rule` guards: pages and buttons show only then. */
export function useCan(): (rule: string) => boolean {
  const me = useContext(MeContext);
  return (rule) => me.allowed.includes(rule);
}

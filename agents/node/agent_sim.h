/*  agent_sim.h: `hs-agent --simulate N`, hollow nodes (docs/architecture.md §10).
 *
 *  One process registers N Nodes and pretends to run the pods bound to
 *  them, as kubemark and kwok do: for scale tests and benchmarks, not for
 *  workloads. Nothing is started; only the store sees the pods go Running,
 *  and Succeeded for run-to-completion pods. See agent_sim.c.
 */
#ifndef AGENT_SIM_H
#define AGENT_SIM_H

/* hs-agent's main when its arguments name --simulate (agent_main.c hands
 * over before it looks at anything else). Parses its own flags; returns the
 * process's exit code: 0 after SIGTERM/SIGINT, 2 for bad flags, 1 when the
 * bus fails. */
int agent_sim_main (int argc, char **argv);

#endif

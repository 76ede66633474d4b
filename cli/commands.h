/* Entry points of the chorus subcommands; each returns the process exit code
 * (0 success, 1 runtime failure, 2 bad usage). argv[0] is the subcommand. */
#ifndef CHORUS_CLI_COMMANDS_H
#define CHORUS_CLI_COMMANDS_H

int chorus_cmd_peer(int argc, char **argv); /* cli/cmd_peer.c */
int chorus_cmd_sim(int argc, char **argv);  /* cli/cmd_sim.c */
int chorus_cmd_sim_cluster(int argc, char **argv); /* cli/cmd_simcl.c: --servers */
int chorus_cmd_server(int argc, char **argv); /* cli/cmd_server.c */

#endif

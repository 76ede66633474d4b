/*
 * chorus: one program, one subcommand per role (SPEC section 3).
 * Exit codes everywhere: 0 success, 1 runtime failure, 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char main_usage[] =
    "usage: chorus COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  peer     run a chat node (chorus peer --help)\n"
    "  sim      run the deterministic simulator (chorus sim --help)\n"
    "  server   the rendezvous, account and room server\n"
    "\n"
    "  chorus --help    this text\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "chorus: missing command\n%s", main_usage);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(main_usage, stdout);
    return 0;
  }
  if (strcmp(cmd, "peer") == 0) return chorus_cmd_peer(argc - 1, argv + 1);
  if (strcmp(cmd, "sim") == 0) return chorus_cmd_sim(argc - 1, argv + 1);
  if (strcmp(cmd, "server") == 0) return chorus_cmd_server(argc - 1, argv + 1);
  fprintf(stderr, "chorus: unknown command '%s'\n%s", cmd, main_usage);
  return 2;
}

/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/command.h"

const docstore_command_t docstore_ddl_commands[] = {{NULL, NULL, 0}};

/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/command.h"

const docstore_command_t docstore_crud_commands[] = {{NULL, NULL, 0}};

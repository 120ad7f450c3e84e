/* The state file: clients, cursors and queued events across a restart. */
#ifndef LIVD_STATE_H
#define LIVD_STATE_H

int	state_save(const char *);
void	state_restore(const char *);

#endif

/*
 * An event as one Server-Sent Events message, in each format a stream
 * can ask for: livd's JSON, a Turbo Stream element, or htmx's named
 * HTML. Made once per event and format, and kept with the event.
 */
#ifndef LIVD_FRAME_H
#define LIVD_FRAME_H

struct blob;
struct msg;
struct verbs;

enum frame_format { FRAME_JSON, FRAME_TURBO, FRAME_HTMX };

/* As many as there are formats: the events' cache (msg.h) has as many. */
#define FRAME_FORMATS	3

int		 frame_format(const char *);
const char	*frame_format_name(enum frame_format);
struct blob	*frame_get(struct msg *, enum frame_format,
		    const struct verbs *);

#endif

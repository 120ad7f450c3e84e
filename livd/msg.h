/*
 * An event: a verb, its arguments and the seq livd gave it. It is encoded
 * to JSON once, when made, and shared by reference count among every
 * queue it lands in. The JSON is the only copy of the values: an
 * argument's text is decoded from it when a frame or the text form needs
 * it (msg_value), so an event costs its JSON and little more.
 */
#ifndef LIVD_MSG_H
#define LIVD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verbs.h"

struct blob;
struct buf;

/* The formats an event stream sends events in (frame.h). */
#define MSG_FRAMES	3

struct msg {
	unsigned	 refs;
	uint64_t	 seq;
	const char	*verb;
	const char	*coalesce_id;	/* set when the verb coalesces */
	size_t		 nargs;
	const char	**names;
	const size_t	*spans;		/* each value's offset, length in json */
	const char	*json;		/* {"seq":..,"verb":..,args...} */
	size_t		 jsonlen;
	size_t		 size;		/* its allocation, frames aside */
	struct blob	*frames[MSG_FRAMES];	/* as SSE messages (frame.c) */
};

/* An event's arguments as given, before they are checked. */
struct msg_input {
	const char	*verb;
	const char	*names[VERBS_MAX_ARGS + 1];
	const char	*values[VERBS_MAX_ARGS + 1];
	size_t		 count;
	bool		 positional;	/* values only, in the verb's order */
	bool		 too_many;
	const char	*location;	/* a page's own, for scope location */
};

void		 msg_input_init(struct msg_input *, const char *);
void		 msg_input_add(struct msg_input *, const char *, const char *);
const struct verb *msg_check(const struct verbs *, struct msg_input *,
		    const char **, char *, size_t);
int		 msg_split_line(char *, struct msg_input *, const struct verbs *,
		    char *, size_t);

struct msg	*msg_new(const char *, size_t, const char **, const char **,
		    const char *, uint64_t);
struct msg	*msg_make(const struct verb *, const char **, uint64_t);
struct msg	*msg_reseq(const struct msg *, uint64_t);
struct msg	*msg_ref(struct msg *);
void		 msg_unref(struct msg *);
void		 msg_value(const struct msg *, size_t, struct buf *);
char		*msg_arg(const struct msg *, const char *);
void		 msg_frame_kept(struct msg *, size_t, struct blob *);
void		 msg_text(const struct msg *, struct buf *);
struct json_t;
struct msg	*msg_from_json(struct json_t *, const struct verbs *);

#endif

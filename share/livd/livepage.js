/*
 * livepage.js: the browser side of livd. One tag and one call:
 *
 *   <script src="/livepage.js"></script>
 *   <script>LivePage.start({location: "/chat"})</script>
 *
 * A page may be at several locations at once, an event to any of them
 * reaching it once: {location: ["/chat", "/user/alice"]} sends one
 * location field each. The first is the page's location (presence's
 * live:who, and where its scope: location events go); LivePage.locations
 * lists them all as livd took them (repeats dropped).
 *
 * It connects, then receives events over a WebSocket (/client/UUID/ws),
 * and sends its input over it too. When the upgrade is refused or fails
 * (a proxy that drops Upgrade, say) it falls back to Server-Sent Events
 * (/client/UUID/events), and when no stream opens either, to
 * long-polling /client/UUID/output?since=SEQ in a loop. {transport:
 * "ws"}, "sse" or "poll" ("longpoll", the seed's way) forces one; "auto"
 * is the default. Each event is applied by its
 * verb's rules from /verbs.json ("dom" and "dedupe"), so a new verb in
 * the verbs file needs no change here; a verb without "dom" becomes a
 * "live:VERB" CustomEvent on document, with the event as its detail.
 *
 * De-duplication (the seed's idea, kept in the client):
 *   - an event whose seq was already applied is skipped, whatever the verb
 *     (a replay after a lost response is harmless);
 *   - dedupe: content  skipped when the page already holds that result
 *     (inner/outer HTML, text, the attribute, or the same nodes already at
 *     the insertion point); HTML is compared parsed, not as a string;
 *   - dedupe: id  an inserted top-level element whose id is already in the
 *     document replaces that element in place instead of a second copy.
 *
 * On errors it backs off exponentially with jitter (at most 30 s). When
 * livd no longer knows the page (404: restarted, or the client expired)
 * it connects again and keeps its cursor, so livd can hand over what it
 * missed (or a reload when it cannot). On pagehide it leaves with
 * navigator.sendBeacon to /close.
 *
 * Events fired on document:
 *   live:connect    {uuid, principal, location, locations}  connected
 *                   the first time
 *   live:reconnect  {uuid, previous}             connected again after a 404
 *   live:status     {status}  "connecting", "live", "offline" (backing
 *                   off after errors), "reloading", "stopped"
 *   live:who        {location, principals}       with {presence: true}
 *   live:VERB       the event, for verbs without a dom rule (join, leave…)
 *
 * The seed's names work too: sendEvent(verb, args...) and startClient()
 * (which takes the server-rendered uuid from the global livePageUUID).
 */
(function (global) {
	"use strict";

	var XHTML = "http://www.w3.org/1999/xhtml";
	var MAX_DELAY = 30000;

	var state = {
		base: "",
		crossOrigin: false,	/* livd is at another origin than the page */
		uuid: null,
		location: null,	/* the first of locations */
		locations: [],
		principal: null,
		token: null,
		seq: 0,		/* the cursor: highest seq received; 0: unknown */
		applied: 0,	/* highest seq applied to the page */
		refresh: 25,
		verbs: {},
		transport: "auto",
		presence: false,
		status: "stopped",
		running: false,
		reloading: false,
		failures: 0,
		controller: null,
		source: null,
		socket: null,	/* the WebSocket, while it is open or opening */
		using: null,	/* "ws", "sse" or "longpoll": the one running */
		sent: [],	/* input sent on the socket, awaiting its answer */
		pending: null,	/* the reconnect in progress */
		reconnected: 0,	/* when the last one started */
		gen: 0,		/* the transport's run, see current() */
		chain: Promise.resolve(),
		ready: null
	};

	function fire(name, detail) {
		document.dispatchEvent(new CustomEvent(name, {detail: detail}));
	}

	function setStatus(status) {
		if (state.status === status)
			return;
		state.status = status;
		fire("live:status", {status: status});
	}

	function form(fields) {
		var body = new URLSearchParams();
		Object.keys(fields).forEach(function (k) {
			/* An array is the field repeated: location, at several. */
			[].concat(fields[k]).forEach(function (v) {
				if (v !== undefined && v !== null)
					body.append(k, String(v));
			});
		});
		return body;
	}

	/*
	 * livd at another origin (base): ask with CORS, and with the page's
	 * credentials (cookies), as livd's answers allow (allowed_origins).
	 */
	function request(url, options) {
		options = options || {};
		if (state.crossOrigin) {
			options.mode = "cors";
			options.credentials = "include";
		}
		return fetch(url, options);
	}

	function isCrossOrigin(base) {
		try {
			return new URL(base || "/", global.location.href).origin !==
			    global.location.origin;
		} catch (e) {
			return false;
		}
	}

	function sleep(ms) {
		return new Promise(function (resolve) { setTimeout(resolve, ms); });
	}

	function clientURL(uuid, what) {
		return state.base + "/client/" + encodeURIComponent(uuid) + "/" + what;
	}

	/* The socket's URL: ws: or wss:, from base or the page's location. */
	function socketURL(uuid) {
		var u = new URL(clientURL(uuid, "ws") + since(), global.location.href);

		u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
		return u.href;
	}

	/* ?since=SEQ, or nothing while the cursor is unknown. */
	function since() {
		return state.seq ? "?since=" + state.seq : "";
	}

	/*
	 * After a failure: wait, doubling up to 30 s, with jitter (half the
	 * step is random) so that pages that lost livd at the same moment do
	 * not all come back at the same moment.
	 */
	function backoff() {
		var step = Math.min(MAX_DELAY, 500 * Math.pow(2, state.failures));
		state.failures++;
		setStatus("offline");
		return sleep(step / 2 + Math.random() * step / 2);
	}

	/* ---- applying events ---------------------------------------------- */

	/*
	 * Parse HTML without running it, in the namespace of the element it
	 * goes into (so that SVG stays SVG).
	 */
	function parse(html, context) {
		var holder, frag;

		if (!context || !context.namespaceURI || context.namespaceURI === XHTML) {
			holder = document.createElement("template");
			holder.innerHTML = html;
			return holder.content;
		}
		holder = document.createElementNS(context.namespaceURI, context.localName);
		holder.innerHTML = html;
		frag = document.createDocumentFragment();
		while (holder.firstChild)
			frag.appendChild(holder.firstChild);
		return frag;
	}

	function sameNodes(have, want) {
		if (have.length !== want.length)
			return false;
		for (var i = 0; i < want.length; i++)
			if (!have[i] || !have[i].isEqualNode(want[i]))
				return false;
		return true;
	}

	/* The n nodes at an insertion point, in document order. */
	function neighbours(el, dom, n) {
		var list = [], node;

		switch (dom) {
		case "beforeend":
		case "beforebegin":
			node = dom === "beforeend" ? el.lastChild : el.previousSibling;
			for (; node && list.length < n; node = node.previousSibling)
				list.unshift(node);
			break;
		case "afterbegin":
		case "afterend":
			node = dom === "afterbegin" ? el.firstChild : el.nextSibling;
			for (; node && list.length < n; node = node.nextSibling)
				list.push(node);
			break;
		}
		return list;
	}

	/*
	 * dedupe: id. Top-level elements of frag whose id is already in the
	 * document replace that element where it is (left alone when equal)
	 * and leave frag. Returns how many there were.
	 */
	function replaceById(frag) {
		var n = 0;

		Array.prototype.slice.call(frag.children).forEach(function (top) {
			var old = top.id ? document.getElementById(top.id) : null;

			if (!old)
				return;
			n++;
			if (old.isEqualNode(top))
				top.remove();
			else
				old.replaceWith(top);
		});
		return n;
	}

	function blank(frag) {
		return !frag.children.length && !/\S/.test(frag.textContent);
	}

	/* An argument by name, else by its place in the verb's args. */
	function arg(event, verb, name, index) {
		var args = verb.args || [];

		if (event[name] !== undefined)
			return event[name];
		if (index < 0)
			index += args.length;
		return event[args[index]];
	}

	function insert(el, dom, frag) {
		switch (dom) {
		case "beforeend": el.append(frag); break;
		case "afterbegin": el.prepend(frag); break;
		case "beforebegin": el.before(frag); break;
		case "afterend": el.after(frag); break;
		}
	}

	/* Apply one event to the page by its verb's rules. */
	function apply(event) {
		var verb = state.verbs[event.verb];
		var dom = verb && verb.dom;
		var dedupe = verb && verb.dedupe;
		var el, frag, context, name, value;

		if (!dom) {
			fire("live:" + event.verb, event);
			return;
		}
		if (dom === "reload") {
			reload();
			return;
		}
		el = document.getElementById(arg(event, verb, "id", 0));
		if (!el)
			return;
		switch (dom) {
		case "beforeend": case "afterbegin":
		case "beforebegin": case "afterend":
		case "inner": case "outer":
			context = dom === "beforeend" || dom === "afterbegin" ||
			    dom === "inner" ? el : el.parentElement || el;
			frag = parse(String(arg(event, verb, "html", -1)), context);
			if (dedupe === "content") {
				if (dom === "inner" ? sameNodes(el.childNodes, frag.childNodes) :
				    dom === "outer" ? sameNodes([el], frag.childNodes) :
				    sameNodes(neighbours(el, dom, frag.childNodes.length),
				    frag.childNodes))
					return;
			}
			if (dedupe === "id" && replaceById(frag) > 0 &&
			    (dom === "inner" || dom === "outer" || blank(frag)))
				return;
			if (dom === "inner")
				el.replaceChildren(frag);
			else if (dom === "outer")
				el.replaceWith(frag);
			else
				insert(el, dom, frag);
			break;
		case "text":
			value = String(arg(event, verb, "text", -1));
			if (dedupe === "content" && el.textContent === value)
				return;
			el.textContent = value;
			break;
		case "attr":
			name = arg(event, verb, "name", 1);
			value = String(arg(event, verb, "value", 2));
			if (dedupe === "content" && el.getAttribute(name) === value)
				return;
			el.setAttribute(name, value);
			break;
		case "remove":
			el.remove();
			break;
		}
	}

	/*
	 * livd asks for a reload when it cannot hand over what the page
	 * missed. Pages told so at the same moment (a restart) spread out over
	 * a second; a page that reloads again at once waits longer.
	 */
	function reload() {
		var key = "livd.reloaded", last = 0, delay = Math.random() * 1000;

		state.reloading = true;
		setStatus("reloading");
		if (state.source)
			state.source.close();
		try {
			last = Number(sessionStorage.getItem(key)) || 0;
			sessionStorage.setItem(key, String(Date.now()));
		} catch (e) {}
		if (Date.now() - last < 10000)
			delay += 5000;
		setTimeout(function () { global.location.reload(); }, delay);
	}

	/* Apply an answer's events once each, in order, then move the cursor. */
	async function receive(answer) {
		var events = answer.events || [];

		if (events.some(function (e) { return !state.verbs[e.verb]; }))
			await loadVerbs().catch(function () {});	/* a new verb */
		events.forEach(function (event) {
			if (state.reloading || event.seq <= state.applied)
				return;		/* a replay after a lost response */
			state.applied = event.seq;
			try {
				apply(event);
			} catch (e) {
				console.error("livepage: cannot apply", event, e);
			}
		});
		if (answer.seq > state.seq)
			state.seq = answer.seq;
		if (answer.refresh > 0)
			state.refresh = answer.refresh;
	}

	/* Events are applied one answer at a time, whatever the transport. */
	function queue(answer) {
		state.chain = state.chain.then(function () { return receive(answer); });
		return state.chain;
	}

	/* ---- talking to livd ---------------------------------------------- */

	function loadVerbs() {
		return request(state.base + "/verbs.json", {cache: "no-cache"}).then(
		    function (r) {
			if (!r.ok)
				throw new Error("verbs.json: HTTP " + r.status);
			return r.json();
		}).then(function (v) { state.verbs = v; });
	}

	function connect() {
		return request(state.base + "/connect", {
			method: "POST",
			body: form({location: state.locations, principal: state.principal,
			    token: state.token, presence: state.presence ? 1 : undefined})
		}).then(function (r) {
			if (!r.ok)
				throw new Error("connect: HTTP " + r.status);
			return r.json();
		}).then(function (c) {
			state.uuid = c.uuid;
			/* livd's word, not the page's: with auth: token or hook
			 * it is the token's or the application's. */
			if (c.principal)
				state.principal = c.principal;
			if (c.locations)
				state.locations = c.locations;
			if (c.refresh > 0)
				state.refresh = c.refresh;
			/* A first connect starts at livd's cursor; a reconnect keeps
			 * its own so that livd hands over what it missed. */
			if (!state.seq)
				state.seq = state.applied = c.seq;
			return c;
		});
	}

	/* With presence: who is here now; join and leave events follow. */
	function loadWho() {
		if (!state.presence)
			return Promise.resolve();
		return request(clientURL(state.uuid, "who"), {cache: "no-store"}).then(
		    function (r) {
			if (!r.ok)
				throw new Error("who: HTTP " + r.status);
			return r.json();
		}).then(function (w) {
			fire("live:who", w);
		}).catch(function () {});
	}

	/*
	 * livd answered 404 for uuid (restart, expiry): connect again, keep the
	 * cursor. One reconnect at a time; a 404 for a uuid already replaced
	 * needs none.
	 */
	function reconnect(uuid) {
		if (state.pending)
			return state.pending;
		if (uuid !== state.uuid)
			return Promise.resolve();
		setStatus("connecting");
		state.pending = (async function () {
			/* Forgotten again at once: something is wrong, do not spin. */
			if (Date.now() - state.reconnected < 5000)
				await backoff();
			state.reconnected = Date.now();
			await loadVerbs().catch(function () {});
			await connect();
			fire("live:reconnect", {uuid: state.uuid, previous: uuid});
			await loadWho();
		})();
		state.pending.then(done, done);
		function done() { state.pending = null; }
		return state.pending;
	}

	/*
	 * Each run of the transport has its own generation: a loop left over
	 * from before a stop (and a resume) ends instead of polling twice.
	 */
	function current(gen) {
		return state.running && !state.reloading && gen === state.gen;
	}

	/*
	 * The long-poll: one GET at a time, held by livd up to the refresh
	 * interval. A poll that hangs far longer (a connection that died
	 * without a word) is given up.
	 */
	async function pollLoop(gen) {
		while (current(gen)) {
			var uuid = state.uuid, controller = new AbortController();
			var timer, r, answer;

			/* A poll held by livd is a live page: livd answers it as soon
			 * as there is something to say. */
			if (!state.failures)
				setStatus("live");
			timer = setTimeout(function () { controller.abort(); },
			    (state.refresh + 15) * 1000);
			state.controller = controller;
			try {
				r = await request(clientURL(uuid, "output") + since(),
				    {signal: controller.signal, cache: "no-store"});
				if (r.status === 404) {
					if (current(gen))
						await reconnect(uuid);
					continue;
				}
				if (!r.ok)
					throw new Error("output: HTTP " + r.status);
				answer = await r.json();
			} catch (e) {
				if (!current(gen))
					return;
				await backoff();
				continue;
			} finally {
				clearTimeout(timer);
			}
			if (!current(gen))
				return;
			state.failures = 0;
			await queue(answer);
		}
	}

	/*
	 * The event stream. After a network error the browser tries once by
	 * itself, sending Last-Event-ID so that livd re-sends what was lost on
	 * the way; after that we take over: back off with jitter, ask livd
	 * whether it still knows us (404: connect again), open a new stream
	 * from our cursor.
	 */
	function openStream(gen) {
		var uuid = state.uuid, retried = false, opened = false;
		var source = new EventSource(clientURL(uuid, "events") + since(),
		    {withCredentials: state.crossOrigin});

		state.source = source;
		source.onopen = function () {
			opened = true;
			retried = false;
			state.failures = 0;
			if (current(gen))
				setStatus("live");
		};
		source.onmessage = function (e) {
			var event;

			try {
				event = JSON.parse(e.data);
			} catch (err) {
				return;
			}
			queue({seq: event.seq, events: [event]});
		};
		source.onerror = function () {
			if (state.source !== source || !current(gen))
				return;
			if (!opened && state.transport === "auto") {
				source.close();
				state.source = null;
				refused(uuid, gen, openStream);
				return;
			}
			if (source.readyState === EventSource.CONNECTING && !retried) {
				retried = true;
				setStatus("offline");
				return;
			}
			source.close();
			state.source = null;
			recover(uuid, gen).then(function () {
				if (current(gen) && !state.source)
					openStream(gen);
			});
		};
	}

	/*
	 * The WebSocket: frames are poll answers, and the answers to input
	 * sent on it ({"status"}, in order). A socket that never opens is
	 * looked into: livd forgot us (404: connect again, try again), or the
	 * upgrade is refused on the way, and with transport "auto" the event
	 * stream takes over. One that opened and closed is recovered from as
	 * the stream is.
	 */
	function openSocket(gen) {
		var uuid = state.uuid, opened = false, socket;

		try {
			socket = new WebSocket(socketURL(uuid), "livd.v1");
		} catch (e) {
			fallback(gen);
			return;
		}
		state.socket = socket;
		socket.onopen = function () {
			opened = true;
			state.failures = 0;
			state.using = "ws";
			if (current(gen))
				setStatus("live");
		};
		socket.onmessage = function (e) {
			var answer;

			try {
				answer = JSON.parse(e.data);
			} catch (err) {
				return;
			}
			if (answer.status !== undefined)
				answered(answer);
			else
				queue(answer);
		};
		socket.onclose = function () {
			if (state.socket !== socket)
				return;
			state.socket = null;
			unanswered();
			if (!current(gen))
				return;
			if (opened) {
				recover(uuid, gen).then(function () {
					if (current(gen) && !state.socket)
						openSocket(gen);
				});
				return;
			}
			refused(uuid, gen, openSocket);
		};
	}

	/*
	 * A socket or stream that never opened: who knows us? again opens
	 * the same transport.
	 */
	async function refused(uuid, gen, again) {
		var r = null;

		try {
			r = await request(clientURL(uuid, "who"), {cache: "no-store"});
		} catch (e) {}
		if (!current(gen))
			return;
		if (r && r.status === 404) {
			await reconnect(uuid);
		} else if (r && r.ok && state.transport === "auto") {
			fallback(gen);
			return;
		} else
			await backoff();
		if (current(gen) && !state.socket && !state.source)
			again(gen);
	}

	/* The next transport down: the event stream, then the long-poll. */
	function fallback(gen) {
		if (!current(gen))
			return;
		if (state.using === "ws" && global.EventSource) {
			state.using = "sse";
			openStream(gen);
		} else {
			state.using = "longpoll";
			pollLoop(gen);
		}
	}

	/* An answer to input sent on the socket: the oldest waiting's. */
	function answered(answer) {
		var p = state.sent.shift();

		if (!p)
			return;
		if (answer.status === 200)
			p.resolve();
		else
			p.reject(inputError(p.verb, answer.status, answer.error));
	}

	/*
	 * Input livd (or, for a forwarded verb, the application) refused:
	 * the Error carries the status and the reason as given, for the page
	 * to show.
	 */
	function inputError(verb, status, reason) {
		var e = new Error("livepage: " + verb + ": " +
		    (reason || "HTTP " + status));

		e.status = status;
		e.reason = reason || "HTTP " + status;
		return e;
	}

	/* The socket went with input unanswered: it may not have arrived. */
	function unanswered() {
		var sent = state.sent;

		state.sent = [];
		sent.forEach(function (p) {
			p.reject(new Error("livepage: " + p.verb +
			    ": connection lost"));
		});
	}

	/* Send input on the open socket; settled when livd answers. */
	function sendOnSocket(fields) {
		var body = {};

		Object.keys(fields).forEach(function (k) {
			if (fields[k] !== undefined && fields[k] !== null)
				body[k] = String(fields[k]);
		});
		return new Promise(function (resolve, reject) {
			state.sent.push({verb: fields.verb, resolve: resolve,
			    reject: reject});
			state.socket.send(JSON.stringify(body));
		});
	}

	async function recover(uuid, gen) {
		while (current(gen)) {
			await backoff();
			if (!current(gen))
				return;
			try {
				var r = await request(clientURL(uuid, "who"), {cache: "no-store"});
				if (r.status === 404) {
					await reconnect(uuid);
					return;
				}
				if (r.ok)
					return;
			} catch (e) {}
		}
	}

	/*
	 * Start the transport asked for; "auto" starts with the best this
	 * browser has and keeps to what it fell back to.
	 */
	function run() {
		var gen = ++state.gen;
		var t = state.transport;

		if (t === "auto")
			t = state.using || (global.WebSocket ? "ws" :
			    global.EventSource ? "sse" : "longpoll");
		state.using = t;
		if (t === "longpoll")
			pollLoop(gen);
		else if (t === "sse")
			openStream(gen);
		else
			openSocket(gen);
	}

	/* The transport option as run() takes it: one this browser has. */
	function available(t) {
		if (t === "poll")
			t = "longpoll";
		if (["ws", "sse", "longpoll"].indexOf(t) < 0)
			return "auto";
		if (t === "ws" && !global.WebSocket)
			t = "sse";
		if (t === "sse" && !global.EventSource)
			t = "longpoll";
		return t;
	}

	/* Leave: livd forgets this page at once. */
	function stop() {
		if (!state.running)
			return;
		state.running = false;
		state.gen++;
		if (state.controller)
			state.controller.abort();
		if (state.source)
			state.source.close();
		state.source = null;
		if (state.socket)
			state.socket.close();
		state.socket = null;
		unanswered();
		if (state.uuid)
			navigator.sendBeacon(clientURL(state.uuid, "close"), "");
		setStatus("stopped");
	}

	/*
	 * Back from the back/forward cache: pagehide closed the uuid, so the
	 * page connects again from its cursor, as after a restart, before its
	 * transport runs (a WebSocket refused 404 would be logged as an error).
	 */
	function resume(e) {
		if (!e.persisted || state.running || !state.uuid || state.reloading)
			return;
		state.running = true;
		setStatus("connecting");
		reconnect(state.uuid).then(run, run);
	}

	var LivePage = {
		/*
		 * Start: {location, principal, token, uuid, seq, base, presence,
		 * transport: "auto", "ws", "sse" or "poll" (or "longpoll")}.
		 * With a server-rendered uuid
		 * (and its seq, if known) it does not connect itself.
		 */
		start: function (options) {
			if (state.ready)
				return state.ready;
			options = options || {};
			state.base = options.base || "";
			state.crossOrigin = isCrossOrigin(state.base);
			state.presence = !!options.presence;
			state.transport = available(options.transport || "auto");
			state.locations = [].concat(options.location ||
			    global.location.pathname);
			state.location = state.locations[0];
			state.principal = options.principal || LivePage.guestName();
			state.token = options.token || null;
			state.running = true;
			setStatus("connecting");
			state.ready = (async function () {
				for (;;) {
					try {
						await loadVerbs();
						if (options.uuid) {
							state.uuid = options.uuid;
							state.seq = state.applied = Number(options.seq) || 0;
						} else
							await connect();
						break;
					} catch (e) {
						await backoff();
					}
				}
				state.failures = 0;
				global.addEventListener("pagehide", stop);
				global.addEventListener("pageshow", resume);
				fire("live:connect", {uuid: state.uuid,
				    principal: state.principal, location: state.location,
				    locations: state.locations.slice()});
				await loadWho();
				run();
				return state.uuid;
			})();
			return state.ready;
		},

		/*
		 * Send an event from this page: LivePage.send("append", id, html),
		 * the arguments in the verbs file's order. livd checks them.
		 * Settled when livd answers (for a verb with forward: true, when
		 * the application has); a refusal rejects with an Error whose
		 * status and reason are livd's or the application's.
		 */
		send: async function (verb) {
			var args = Array.prototype.slice.call(arguments, 1);
			var r, fields;

			if (!state.ready)
				throw new Error("livepage: not started");
			await state.ready;
			if (!state.verbs[verb])
				await loadVerbs();
			if (!state.verbs[verb])
				throw new Error("livepage: unknown verb '" + verb + "'");
			fields = {verb: verb};
			state.verbs[verb].args.forEach(function (name, i) {
				fields[name] = args[i];
			});
			if (state.socket && state.socket.readyState === WebSocket.OPEN)
				return sendOnSocket(fields);
			for (var attempt = 0; ; attempt++) {
				var uuid = state.uuid;
				r = await request(clientURL(uuid, "input"),
				    {method: "POST", body: form(fields)});
				if (r.status !== 404 || attempt > 0)
					break;
				await reconnect(uuid);
			}
			if (!r.ok) {
				var why = null;
				try {
					why = (await r.json()).error;
				} catch (e) {}
				throw inputError(verb, r.status, why);
			}
			return r;
		},

		stop: stop,

		/* A name for pages that do not say who they are. */
		guestName: function () {
			var key = "livd.principal", name;
			try {
				name = sessionStorage.getItem(key);
			} catch (e) {}
			if (!name) {
				name = "guest-" + Math.random().toString(36).slice(2, 8);
				try { sessionStorage.setItem(key, name); } catch (e) {}
			}
			return name;
		},

		/* The transport running: "ws", "sse" or "longpoll". */
		get transport() {
			if (state.using)
				return state.using;
			return state.transport === "auto" ? "ws" : state.transport;
		},
		get status() { return state.status; },
		get uuid() { return state.uuid; },
		get seq() { return state.seq; },
		get principal() { return state.principal; },
		get location() { return state.location; },
		get locations() { return state.locations.slice(); },
		get verbs() { return state.verbs; }
	};

	global.LivePage = LivePage;
	/* The seed's names, so its pages work as written. */
	global.sendEvent = function () {
		return LivePage.send.apply(LivePage, arguments);
	};
	global.startClient = function (options) {
		options = options || {};
		if (!options.uuid && global.livePageUUID)
			options.uuid = global.livePageUUID;
		return LivePage.start(options);
	};
})(window);

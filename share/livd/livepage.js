/*
 * livepage.js: the browser side of livd. One tag and one call:
 *
 *   <script src="/livepage.js"></script>
 *   <script>LivePage.start({location: "/chat"})</script>
 *
 * It connects, then receives events over Server-Sent Events
 * (/client/UUID/events) where the browser has EventSource, else by
 * long-polling /client/UUID/output?since=SEQ in a loop ({transport:
 * "longpoll"} forces that, the seed's way). Each event is applied by its
 * verb's "dom" rule from /verbs.json; a verb without one becomes a
 * "live:VERB" CustomEvent on document. No dependencies.
 *
 * Events fired on document: live:connect, live:reconnect, live:who
 * ({principals}, with {presence: true}), and live:VERB.
 */
(function (global) {
	"use strict";

	var state = {
		base: "",
		uuid: null,
		location: null,
		principal: null,
		seq: 0,		/* the cursor: highest seq acknowledged */
		applied: 0,	/* highest seq applied to the page */
		verbs: {},
		running: false,
		failures: 0,
		controller: null,
		source: null,
		transport: "auto",
		presence: false
	};

	var positions = {
		beforeend: "beforeend", afterbegin: "afterbegin",
		beforebegin: "beforebegin", afterend: "afterend"
	};

	function fire(name, detail) {
		document.dispatchEvent(new CustomEvent(name, {detail: detail}));
	}

	function form(fields) {
		var body = new URLSearchParams();
		Object.keys(fields).forEach(function (k) {
			if (fields[k] !== undefined && fields[k] !== null)
				body.append(k, String(fields[k]));
		});
		return body;
	}

	function sleep(ms) {
		return new Promise(function (resolve) { setTimeout(resolve, ms); });
	}

	/* Exponential backoff with full jitter, at most 30 s. */
	function backoff() {
		var cap = Math.min(30000, 500 * Math.pow(2, state.failures));
		state.failures++;
		return sleep(cap / 2 + Math.random() * cap / 2);
	}

	/* The first element the HTML makes, parsed without running it. */
	function topElement(html) {
		var t = document.createElement("template");
		t.innerHTML = html;
		return t.content.firstElementChild;
	}

	function content(event, verb) {
		var args = verb.args || [];
		return event[args[args.length - 1]];
	}

	/* Apply one event to the page by its verb's rules. */
	function apply(event) {
		var verb = state.verbs[event.verb];
		var el, html, top, old;

		if (!verb || !verb.dom) {
			fire("live:" + event.verb, event);
			return;
		}
		if (verb.dom === "reload") {
			global.location.reload();
			return;
		}
		el = document.getElementById(event.id);
		if (!el)
			return;
		html = content(event, verb);
		switch (verb.dom) {
		case "beforeend": case "afterbegin":
		case "beforebegin": case "afterend":
			if (verb.dedupe === "id") {
				top = topElement(html);
				old = top && top.id && document.getElementById(top.id);
				if (old) {
					if (old.outerHTML !== top.outerHTML)
						old.outerHTML = html;
					break;
				}
			}
			el.insertAdjacentHTML(positions[verb.dom], html);
			break;
		case "inner":
			if (verb.dedupe === "content" && el.innerHTML === html)
				break;
			el.innerHTML = html;
			break;
		case "outer":
			if (verb.dedupe === "content" && el.outerHTML === html)
				break;
			el.outerHTML = html;
			break;
		case "text":
			if (verb.dedupe === "content" && el.textContent === html)
				break;
			el.textContent = html;
			break;
		case "attr":
			if (verb.dedupe === "content" &&
			    el.getAttribute(event.name) === event.value)
				break;
			el.setAttribute(event.name, event.value);
			break;
		case "remove":
			el.remove();
			break;
		}
	}

	/* Apply an answer's events once each, in order, then move the cursor. */
	function receive(answer) {
		(answer.events || []).forEach(function (event) {
			if (event.seq <= state.applied)
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
	}

	function connect() {
		return fetch(state.base + "/connect", {
			method: "POST",
			body: form({location: state.location, principal: state.principal,
			    presence: state.presence ? 1 : undefined})
		}).then(function (r) {
			if (!r.ok)
				throw new Error("connect: HTTP " + r.status);
			return r.json();
		}).then(function (c) {
			state.uuid = c.uuid;
			/* A first connect starts at livd's cursor; a reconnect keeps
			 * its own so that livd hands over what it missed. */
			if (!state.seq)
				state.seq = state.applied = c.seq;
			return c;
		});
	}

	function loadVerbs() {
		return fetch(state.base + "/verbs.json").then(function (r) {
			return r.json();
		}).then(function (v) { state.verbs = v; });
	}

	/* With presence: who is here now; join and leave events follow. */
	function loadWho() {
		if (!state.presence)
			return Promise.resolve();
		return fetch(state.base + "/client/" + state.uuid + "/who").then(
		    function (r) { return r.json(); }).then(function (w) {
			fire("live:who", w);
		}).catch(function () {});
	}

	/* livd forgot us (restart, expiry): connect again, keep the cursor. */
	async function reconnect() {
		await connect();
		fire("live:reconnect", {uuid: state.uuid});
		await loadWho();
	}

	/*
	 * The event stream. EventSource reconnects by itself after a network
	 * error, sending Last-Event-ID; when that fails for good (livd no
	 * longer knows the uuid) we find out with one long-poll and connect
	 * again.
	 */
	function streamLoop() {
		var url = state.base + "/client/" + state.uuid +
		    "/events?since=" + state.seq;
		var source = state.source = new EventSource(url);

		source.onopen = function () { state.failures = 0; };
		source.onmessage = function (e) {
			var event = JSON.parse(e.data);
			receive({seq: event.seq, events: [event]});
		};
		source.onerror = async function () {
			if (source.readyState !== EventSource.CLOSED || !state.running)
				return;
			state.source = null;
			try {
				var r = await fetch(state.base + "/client/" + state.uuid +
				    "/output?since=" + state.seq, {cache: "no-store"});
				if (r.status === 404)
					await reconnect();
				else if (r.ok)
					receive(await r.json());
			} catch (e) {
				await backoff();
			}
			if (state.running)
				streamLoop();
		};
	}

	async function pollLoop() {
		while (state.running) {
			var r;
			try {
				state.controller = new AbortController();
				r = await fetch(state.base + "/client/" + state.uuid +
				    "/output?since=" + state.seq,
				    {signal: state.controller.signal, cache: "no-store"});
				if (r.status === 404) {
					await reconnect();
					continue;
				}
				if (!r.ok)
					throw new Error("output: HTTP " + r.status);
				receive(await r.json());
				state.failures = 0;
			} catch (e) {
				if (!state.running)
					return;
				await backoff();
				if (state.failures > 1)
					await loadVerbs().catch(function () {});
			}
		}
	}

	var LivePage = {
		/*
		 * Start: {location, principal, uuid, seq, base, presence,
		 * transport: "auto" or "longpoll"}.
		 */
		start: async function (options) {
			options = options || {};
			state.base = options.base || "";
			state.presence = !!options.presence;
			state.transport = options.transport ||
			    (global.EventSource ? "auto" : "longpoll");
			state.location = options.location || global.location.pathname;
			state.principal = options.principal || LivePage.guestName();
			state.running = true;
			for (;;) {
				try {
					await loadVerbs();
					if (options.uuid) {
						state.uuid = options.uuid;
						state.seq = state.applied = options.seq || 0;
					} else
						await connect();
					break;
				} catch (e) {
					await backoff();
				}
			}
			global.addEventListener("pagehide", LivePage.stop);
			fire("live:connect", {uuid: state.uuid});
			await loadWho();
			if (state.transport === "longpoll")
				pollLoop();
			else
				streamLoop();
			return state.uuid;
		},

		/* Send an event from this page: LivePage.send("append", id, html). */
		send: function (verb) {
			var v = state.verbs[verb], fields = {verb: verb};
			var args = Array.prototype.slice.call(arguments, 1);
			if (!v)
				return Promise.reject(new Error("unknown verb " + verb));
			v.args.forEach(function (name, i) { fields[name] = args[i]; });
			return fetch(state.base + "/client/" + state.uuid + "/input",
			    {method: "POST", body: form(fields)});
		},

		/* Leave: livd forgets this page at once. */
		stop: function () {
			if (!state.running)
				return;
			state.running = false;
			if (state.controller)
				state.controller.abort();
			if (state.source)
				state.source.close();
			if (state.uuid)
				navigator.sendBeacon(state.base + "/client/" + state.uuid +
				    "/close", "");
		},

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

		get transport() { return state.transport; },
		get uuid() { return state.uuid; },
		get seq() { return state.seq; },
		get principal() { return state.principal; }
	};

	global.LivePage = LivePage;
	/* The seed's name for sending, so its pages work as written. */
	global.sendEvent = function () {
		return LivePage.send.apply(LivePage, arguments);
	};
})(window);

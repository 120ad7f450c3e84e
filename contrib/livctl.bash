# bash completion for livctl: commands, verbs after send, locations,
# principals and uuids, asked of the running livd.
_livctl()
{
	local cur prev words cword sock=() cmd i
	_init_completion || return
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s) sock=(-s "${words[i + 1]}"); ((i++)) ;;
		-j) ;;
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done
	case $prev in
	-s) _filedir; return ;;
	-l|--location)
		COMPREPLY=($(compgen -W "$(livctl "${sock[@]}" who 2>/dev/null |
		    cut -d' ' -f1 | sort -u)" -- "$cur")); return ;;
	-p|--principal)
		COMPREPLY=($(compgen -W "$(livctl "${sock[@]}" who 2>/dev/null |
		    cut -d' ' -f2 | sort -u)" -- "$cur")); return ;;
	-c|--client)
		COMPREPLY=($(compgen -W "$(livctl "${sock[@]}" clients \
		    2>/dev/null | cut -d' ' -f1)" -- "$cur")); return ;;
	esac
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$(livctl -h | sed -n \
		    's/^  \([a-z]*\) .*/\1/p') -j -s --version" -- "$cur"))
		return
	fi
	case $cmd in
	send)
		if [[ $prev == send || $prev == -n || $prev == --dry-run ||
		    ${words[cword - 2]} == -[lcp] ]]; then
			COMPREPLY=($(compgen -W "$(livctl "${sock[@]}" verbs \
			    2>/dev/null | cut -d' ' -f1) -l -c -p -n" -- "$cur"))
		fi ;;
	poll)
		COMPREPLY=($(compgen -W "$(livctl "${sock[@]}" clients \
		    2>/dev/null | cut -d' ' -f1)" -- "$cur")) ;;
	who|clients)
		COMPREPLY=($(compgen -W "$(livctl "${sock[@]}" who 2>/dev/null |
		    cut -d' ' -f1 | sort -u)" -- "$cur")) ;;
	esac
}
complete -F _livctl livctl

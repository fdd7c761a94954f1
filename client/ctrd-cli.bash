# shellcheck shell=bash
# Bash completion for ctrd-cli: commands, options, the socket paths after
# --socket, --from and --to, CRIU log levels and images dirs.  Job ids and
# pids are not completed: a job id would need a request to ctrd on every
# TAB.
#
# Installed as "ctrd-cli" in bash-completion's completions directory, which
# loads it the first time ctrd-cli is completed.  It needs none of
# bash-completion's helpers, so it also works when sourced by hand.

# Set COMPREPLY to the paths that complete word $2: directories when $1 is
# -d, files and directories when it is -f.
_ctrd_cli_paths() {
	local cur=$2

	compopt -o filenames 2>/dev/null || true
	mapfile -t COMPREPLY < <(compgen "$1" -- "$cur")
}

_ctrd_cli() {
	local commands="restore checkpoint migrate status list cancel watch info
		metrics"
	local global_options="-s --socket -j --json -h --help -V --version"
	local restore_options="--lazy-pages --page-server --tls --tcp-established
		--ext-unix-sk --shell-job --file-locks --log-level --detach -h --help"
	local checkpoint_options="--leave-running --lazy-pages --page-server --tls
		--tcp-established --ext-unix-sk --shell-job --file-locks --log-level
		--detach --json -h --help"
	local migrate_options="--from --to --page-server --tls --images-from
		--images-to --leave-running --tcp-established --ext-unix-sk
		--shell-job --file-locks --log-level --json -h --help"
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev='' command='' i=1 word

	COMPREPLY=()
	if ((COMP_CWORD > 0)); then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	fi
	# COMP_WORDBREAKS splits "--socket=PATH" into "--socket", "=", "PATH".
	if [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	if [[ $cur == = ]]; then
		cur=
	fi

	# The command is the first word that is neither a global option nor
	# the argument of --socket.
	while ((i < COMP_CWORD)); do
		word=${COMP_WORDS[i]}
		case $word in
		-s | --socket)
			if [[ ${COMP_WORDS[i + 1]-} == = ]]; then
				i=$((i + 1))
			fi
			i=$((i + 1))
			;;
		-*) ;;
		*)
			command=$word
			break
			;;
		esac
		i=$((i + 1))
	done

	if [[ -z $command ]]; then
		case $prev in
		-s | --socket)
			_ctrd_cli_paths -f "$cur"
			return 0
			;;
		esac
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$global_options" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		fi
		return 0
	fi

	case $prev in
	--log-level)
		mapfile -t COMPREPLY < <(compgen -W "0 1 2 3 4" -- "$cur")
		return 0
		;;
	--page-server)
		# ADDR:PORT of the page server: nothing to offer.
		return 0
		;;
	--from | --to)
		_ctrd_cli_paths -f "$cur"
		return 0
		;;
	--images-from | --images-to)
		_ctrd_cli_paths -d "$cur"
		return 0
		;;
	esac

	case $command in
	restore)
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$restore_options" -- "$cur")
		else
			_ctrd_cli_paths -d "$cur"
		fi
		;;
	checkpoint)
		# PID comes first and is not completed, then DIR, a directory.
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$checkpoint_options" -- "$cur")
		else
			_ctrd_cli_paths -d "$cur"
		fi
		;;
	migrate)
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$migrate_options" -- "$cur")
		fi
		;;
	status | list | cancel | watch | info | metrics)
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "-h --help" -- "$cur")
		fi
		;;
	esac
	return 0
}

complete -F _ctrd_cli ctrd-cli

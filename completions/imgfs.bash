# bash completion for imgfs(1): commands, each command's options (those of
# its struct option table in tools/; tests/help.sh compares), image files,
# mount points.
# Installed as share/bash-completion/completions/imgfs (loaded on demand).

_imgfs() {
	local cur prev words cword cmd i
	_init_completion -n : || return

	local commands='mount umount index layers check packages duplicates elf report verify cache help'
	local common='--image --platform --index --cache-dir --rebuild --estimate-compressed --quiet --verbose --help --tls-verify --creds'

	cmd=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		mount | umount | unmount | index | layers | check | packages | duplicates | elf | report | verify | cache | help) cmd=${words[i]}; break ;;
		-*) ;;
		*) cmd=helper; break ;; # imgfs IMAGE MOUNTPOINT -o OPTS
		esac
	done

	case $prev in
	--index | --ci-config | --output)
		_filedir
		return
		;;
	--cache-dir)
		_filedir -d
		return
		;;
	--image | --platform | --creds | --older-than | --max-size)
		return
		;;
	--tls-verify)
		COMPREPLY=($(compgen -W 'true false' -- "$cur"))
		return
		;;
	-o)
		# report -o FILE; elsewhere the mount options
		[[ $cmd == report ]] && { _filedir; return; }
		local opts='ro allow_other noexec image= platform= index= cache_dir= rebuild nofail'
		compopt -o nospace
		local last=${cur##*,} head=
		[[ $cur == *,* ]] && head=${cur%,*},
		COMPREPLY=($(compgen -P "$head" -W "$opts" -- "$last"))
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} != *= ]] && compopt +o nospace
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
			_filedir
		fi
		return
	fi

	case $cmd in
	umount | unmount)
		[[ $cur == -* ]] && { COMPREPLY=($(compgen -W '--help' -- "$cur")); return; }
		# mount points of imgfs filesystems
		local mnts
		mnts=$(awk '$3 == "fuse.imgfs" { print $2 }' /proc/mounts 2>/dev/null)
		COMPREPLY=($(compgen -W "$mnts" -- "$cur"))
		return
		;;
	mount | helper)
		[[ $cur == -* ]] && { COMPREPLY=($(compgen -W "-f -d -o $common" -- "$cur")); return; }
		;;
	index)
		[[ $cur == -* ]] && { COMPREPLY=($(compgen -W "$common --json" -- "$cur")); return; }
		;;
	layers)
		[[ $cur == -* ]] && { COMPREPLY=($(compgen -W "$common --json -h --human-readable" -- "$cur")); return; }
		;;
	verify)
		[[ $cur == -* ]] && {
			COMPREPLY=($(compgen -W '--image --platform --cache-dir --quiet --help' -- "$cur"))
			return
		}
		;;
	help)
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		return
		;;
	cache)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--json --older-than --max-size --cache-dir --help' -- "$cur"))
		elif [[ $prev == cache ]]; then
			COMPREPLY=($(compgen -W 'list prune clear' -- "$cur"))
		fi
		return
		;;
	check)
		[[ $cur == -* ]] && {
			COMPREPLY=($(compgen -W '--ci-config --json --image --platform --index --help' -- "$cur"))
			return
		}
		;;
	report)
		[[ $cur == -* ]] && {
			COMPREPLY=($(compgen -W '-o --output --svg --image --platform --index --cache-dir --help' -- "$cur"))
			return
		}
		;;
	packages)
		[[ $cur == -* ]] && {
			COMPREPLY=($(compgen -W '--json --by-layer --sort --why --removable --image --platform --index --cache-dir --help' -- "$cur"))
			return
		}
		;;
	duplicates)
		[[ $cur == -* ]] && {
			COMPREPLY=($(compgen -W '--json --min-size --image --platform --index --cache-dir --help' -- "$cur"))
			return
		}
		;;
	elf)
		[[ $cur == -* ]] && {
			COMPREPLY=($(compgen -W '--json --min-bytes --image --platform --index --cache-dir --help' -- "$cur"))
			return
		}
		;;
	esac
	# IMAGE: a tar (any compression) or an OCI layout directory; MOUNTPOINT: a directory
	local args=0
	for ((i = 2; i < cword; i++)); do
		[[ ${words[i]} == -* ]] && continue
		case ${words[i - 1]} in
		-o | --output | --image | --platform | --index | --cache-dir | --ci-config | --sort | --why | --min-bytes) continue ;;
		esac
		args=$((args + 1))
	done
	[[ $cmd == helper ]] && args=$((args + 1))
	if [[ ($cmd == mount || $cmd == helper) && $args -ge 1 ]]; then
		_filedir -d
	else
		_filedir
	fi
} &&
	complete -F _imgfs imgfs

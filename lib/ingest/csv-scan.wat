;; The CSV delimiter scan of ByteCsvSplitter (issue 8), in WebAssembly SIMD: 16 bytes a step.
;; Source of the bytes embedded in csv-scan-wasm.ts; `npm run build:wasm` regenerates them and
;; test/csv-scan.test.ts checks that they are this file's.
;;
;; scan(len, out, dc): for the bytes at memory[0, len) (len a multiple of 16), writes the
;; position of every byte equal to dc or to a line feed, in order, as i32 at memory[out, ...);
;; a line feed's position has bit 31 set. Returns how many it wrote (at most len).
(module
  (memory (export "memory") 1)
  (func (export "scan") (param $len i32) (param $out i32) (param $dc i32) (result i32)
    (local $i i32) (local $o i32) (local $v v128) (local $m i32) (local $nl i32) (local $t i32)
    (local $vd v128) (local $vn v128)
    local.get $out
    local.set $o
    local.get $dc
    i8x16.splat
    local.set $vd
    i32.const 10
    i8x16.splat
    local.set $vn
    block $done
      loop $step
        local.get $i
        local.get $len
        i32.ge_u
        br_if $done
        local.get $i
        v128.load
        local.set $v
        ;; nl: a bit per line feed of the 16 bytes; m: per line feed or delimiter
        local.get $v
        local.get $vn
        i8x16.eq
        i8x16.bitmask
        local.set $nl
        local.get $v
        local.get $vd
        i8x16.eq
        i8x16.bitmask
        local.get $nl
        i32.or
        local.set $m
        block $none
          loop $bits
            local.get $m
            i32.eqz
            br_if $none
            ;; t: the lowest set bit; store (i + t) | (line feed ? 1 << 31 : 0)
            local.get $m
            i32.ctz
            local.set $t
            local.get $o
            local.get $i
            local.get $t
            i32.add
            local.get $nl
            local.get $t
            i32.shr_u
            i32.const 31
            i32.shl
            i32.or
            i32.store
            local.get $o
            i32.const 4
            i32.add
            local.set $o
            ;; clear the lowest set bit
            local.get $m
            local.get $m
            i32.const 1
            i32.sub
            i32.and
            local.set $m
            br $bits
          end
        end
        local.get $i
        i32.const 16
        i32.add
        local.set $i
        br $step
      end
    end
    local.get $o
    local.get $out
    i32.sub
    i32.const 2
    i32.shr_u)
)

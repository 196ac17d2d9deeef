package main

import (
	"fmt"
	"strings"
	"time"

	"vkdep.dev/vkdep"
)

// Colour indices of the text layer (composite.comp's palette).
const (
	colText  = 1
	colDim   = 2
	colOK    = 3
	colWarn  = 4
	colFault = 5
	colTitle = 6
	bgPanel  = 7
	bgFault  = 8
)

// text writes s at cell (col, row) of the grid in colour fg on background bg (0: none).
func text(grid []uint32, col, row int, fg, bg uint32, s string) {
	for i, r := range strings.ToUpper(s) {
		c := col + i
		if c >= textCols || row >= textRows || r < 32 || r >= 96 {
			continue
		}
		grid[row*textCols+c] = uint32(r) | fg<<8 | bg<<12
	}
}

// writeHUD fills a compositor frame's hud buffer: the window table (which slot of which client
// to show), the text grid and the font. f is the frame's fence: the slots shown are marked as
// read by it.
func (c *Compositor) writeHUD(hud []uint32, f vkdep.Fence) {
	s := c.s
	det := s.cfg.Deterministic
	grid := c.grid
	clear(grid)
	views := make([]view, len(s.clients))
	for i, cl := range s.clients {
		views[i] = cl.show(f)
	}
	cs := c.stats()

	// measured prints a measurement, or "--" in deterministic mode, where measurements would
	// differ from run to run.
	measured := func(format string, args ...any) string {
		if det {
			return "--"
		}
		return fmt.Sprintf(format, args...)
	}
	ms := func(d time.Duration) string { return measured("%d MS", d.Milliseconds()) }

	text(grid, 1, 1, colTitle, 0, "VKDEP COMPOSITOR")
	text(grid, 18, 1, colDim, 0, "CLIENTS RENDER AT THEIR OWN PACE ON THEIR OWN QUEUES")
	info := s.d.Info()
	// The device's name varies between machines: deterministic frames leave it out.
	text(grid, 1, 2, colDim, 0, fmt.Sprintf("%.48s   %d VKQUEUE(S)", measured("%s", info.Name), len(s.d.VkQueues())))
	// Where the compositor is, as a fact: what it means for its frames is measured below.
	sharing := 0
	for _, cl := range s.clients {
		if cl.pin == s.compVkQueue {
			sharing++
		}
	}
	placement := fmt.Sprintf("COMPOSITOR (%s) ALONE ON VKQUEUE %d", prio(c.q.Priority()), s.compVkQueue)
	if sharing > 0 {
		placement = fmt.Sprintf("COMPOSITOR (%s) SHARES VKQUEUE %d WITH %d CLIENT(S) AND THE FLOOD", prio(c.q.Priority()), s.compVkQueue, sharing)
	} else if s.flood != nil {
		placement = fmt.Sprintf("COMPOSITOR (%s) SHARES VKQUEUE %d WITH THE FLOOD ONLY", prio(c.q.Priority()), s.compVkQueue)
	}
	text(grid, 1, 3, colDim, 0, placement)

	for i, v := range views {
		base := 8 * i
		k := s.clients[i].kind
		hud[base+0] = uint32(windowX(i))
		hud[base+1] = windowY
		hud[base+2] = v.offset
		hud[base+3] = k.color>>16&0xff | k.color&0xff00 | k.color&0xff<<16 // 0xRRGGBB to the shader's 0xBBGGRR
		hud[base+4] = 0
		if v.hung {
			hud[base+3] = 0x3030d0 // red, as 0xBBGGRR
			hud[base+4] = 1
		}
		col := windowX(i) / 12
		title := fmt.Sprintf("%s  %s", v.name, measured("%.0f FPS", v.fps))
		text(grid, col, titleRow, colText, 0, title)
		if v.hung {
			text(grid, col+1, titleRow+10, colText, bgFault, " HUNG: AWAITING BAN ")
		}
	}

	row := 23
	text(grid, 1, row, colTitle, 0, fmt.Sprintf("%-14s %-4s %3s %6s %4s %9s %7s %8s %5s %s",
		"QUEUE", "PRIO", "VKQ", "TARGET", "FPS", "IN FLIGHT", "LATENCY", "TIMEOUTS", "KILLS", "STATE"))
	for i, v := range views {
		cl := s.clients[i]
		state, stateCol := "RUNNING", uint32(colOK)
		switch {
		case v.hung:
			state, stateCol = "HUNG", colFault
		case v.stats.Kills > 0:
			state, stateCol = "RECOVERED", colWarn
		}
		line := fmt.Sprintf("%-14s %-4s %3d %6.0f %4s %9s %7s %8d %5d", v.name, prio(v.prio), cl.pin, cl.kind.rate,
			measured("%.0f", v.fps), measured("%d", v.inFlight), ms(v.stats.Latency), v.stats.Timeouts, v.stats.Kills)
		text(grid, 1, row+1+i, colText, 0, line)
		text(grid, 70, row+1+i, stateCol, 0, state)
	}
	crow := row + 1 + len(views)
	line := fmt.Sprintf("%-14s %-4s %3d %6.0f %4s %9s %7s %8s %5s", "compositor", prio(c.q.Priority()), s.compVkQueue, s.cfg.FPS,
		measured("%.0f", cs.FPS), measured("%d", cs.InFlight), ms(cs.Latency), "-", "-")
	text(grid, 1, crow, colText, 0, line)
	text(grid, 70, crow, colOK, 0, "BYPASS")
	if fl := s.flood; fl != nil {
		fs := fl.q.Stats()
		state, stateCol := "OFF", uint32(colDim)
		if fl.On() {
			state, stateCol = "FLOODING", colWarn
		}
		line := fmt.Sprintf("%-14s %-4s %3d %6s %4s %9s %7s %8s %5s", "flood", prio(fl.q.Priority()), s.compVkQueue, "-",
			"-", measured("%d", fs.InFlight+fs.Pending), ms(fs.SubmitToDone.P50), "-", "-")
		text(grid, 1, crow+1, colText, 0, line)
		text(grid, 70, crow+1, stateCol, 0, state)
	}

	stallCol := uint32(colText)
	if cs.LastStall > 0 && !det {
		stallCol = colWarn
	}
	p99 := "--"
	if cs.FrameP99 > 0 && !det {
		p99 = fmt.Sprintf("%d MS", cs.FrameP99.Milliseconds())
	}
	text(grid, 1, crow+3, stallCol, 0, fmt.Sprintf("STALL: LAST %s LONGEST %s  TIMEOUT %d MS  FRAME TIME P99 %s  #%s",
		ms(cs.LastStall), ms(cs.MaxGap), s.cfg.JobTimeout.Milliseconds(), p99, measured("%d", c.frame)))
	keys := "KEYS: H HANG  K KILL  F LOW-PRIORITY FLOOD  P PAUSE  ESC QUIT"
	if s.isPaused() {
		keys += "  [PAUSED]"
	}
	text(grid, 1, crow+4, colDim, 0, keys)
	if ev := s.Events(); len(ev) > 0 && !det {
		for i, e := range ev[max(0, len(ev)-2):] {
			text(grid, 1, crow+5+i, colWarn, 0, e)
		}
	}

	copy(hud[hudGrid:], grid)
	copy(hud[hudFont:], c.font)
}

// prio is a priority as the HUD prints it, in four letters.
func prio(p vkdep.Priority) string {
	switch p {
	case vkdep.PriorityLow:
		return "LOW"
	case vkdep.PriorityNormal:
		return "NORM"
	case vkdep.PriorityHigh:
		return "HIGH"
	case vkdep.PriorityRealtime:
		return "RT"
	}
	return "?"
}

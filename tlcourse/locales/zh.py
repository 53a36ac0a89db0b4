"""简体中文 (Simplified Chinese): what ``tlcourse`` says to a learner under ``TLCOURSE_LANG=zh``.

Keys are the English sentences exactly as the code passes them to ``i18n.tr``; each translation keeps the
key's ``{placeholders}`` and their formats (``tests/test_i18n.py``). Terms follow notebooks/zh/术语对照.md.
"""

MESSAGES: dict[str, str] = {
    # tlcourse.grading.checks: what check(...) answers
    "{id}: not done yet - replace `raise NotImplementedError()` with your code.":
        "{id}：还没有完成——请把 `raise NotImplementedError()` 换成你的代码。",
    "{id}: {message}": "{id}：未通过：{message}",
    "Hint: {hint}": "提示：{hint}",
    "{id}: your code raised {error}": "{id}：你的代码抛出了异常 {error}",
    "{id}: all public checks passed.": "{id}：全部公开检查均已通过。",

    # tlcourse.grading.feedback: the feedback file of a graded submission
    "# Feedback for {student}": "# 给 {student} 的反馈",
    "**Score: {got} / {top}**": "**得分：{got} / {top}**",
    " (and {pending} points pending manual grading)": "（另有 {pending} 分待人工评分）",
    "| exercise | points | result |": "| 练习 | 得分 | 结果 |",
    "passed": "通过",
    "pending: your instructor grades this answer by hand": "待评：这道题由老师人工评分",
    "What happened while your notebook ran:": "你的 notebook 运行时发生了这些情况：",
    "... and {n} more.": "……另有 {n} 条。",
    "Your instructor may look at this notebook by hand: it uses {flags}.":
        "老师可能会人工查看这个 notebook：它用到了 {flags}。",
    "The grader itself failed on this notebook; this is not your fault and your instructor has been told.":
        "评分程序本身在这个 notebook 上出错了；这不是你的问题，老师已经收到通知。",
    "Each notebook ran in a fresh kernel with {cell} s per cell, {total} s in all and {memory} MB of memory. "
    "Each answer was checked on new inputs drawn for this grading and compared with the solution's, so a "
    "failed exercise may have passed its public check.":
        "每个 notebook 都在一个全新的内核中运行：每个单元格限时 {cell} 秒，"
        "总共 {total} 秒，内存 {memory} MB。"
        "每道题的答案都在本次评分时新抽取的输入上检查，并与参考答案的结果比较，"
        "所以一道未通过的练习也可能通过了它的公开检查。",

    # tlcourse.doctor
    "not installed: run `make lab` (or `pip install -e .`)":
        "未安装：请运行 `make lab`（或 `pip install -e .`）",
    "device": "设备",
    "fine: every lesson is sized for a laptop CPU": "没问题：每节课都是按笔记本电脑的 CPU 设计的",
    "accelerator found": "找到了加速器",
    "course checkpoint": "课程检查点",
    "{name} present, sha256 verified": "{name} 已就绪，sha256 校验通过",
    "embedded data": "内置数据",
    "{n} domains; handwritten test: {images} images": "{n} 个域；handwritten 测试集：{images} 张图像",
    "grading sandbox": "评分沙箱",
    "not available (learners do not need it; instructors grading untrusted notebooks do): {reason}":
        "不可用（学员不需要；给不可信的 notebook 评分的老师才需要）：{reason}",
    "Chinese font": "中文字体",
    "{name} for figures with Chinese text": "{name}，用于含中文的图",
    "missing: figures cannot show Chinese text; run `make setup` (it installs mplfonts)":
        "缺失：图中无法显示中文；请运行 `make setup`（它会安装 mplfonts）",
    "online options": "在线选项",
    "reachable (ImageNet weights, torchvision datasets)": "可以连接（ImageNet 权重、torchvision 数据集）",
    "offline ({error} after {took:.1f}s): fine, the course runs offline; only the optional "
    "ImageNet/torchvision-dataset cells need a network":
        "离线（{took:.1f} 秒后出现 {error}）：没关系，课程可以离线运行；"
        "只有可选的 ImageNet / torchvision 数据集单元格需要网络",
    "Everything the course needs is ready.": "课程所需的一切都已就绪。",
    "Some checks failed: each BAD line says what to do.":
        "有些检查没有通过：每个 BAD 行都写明了该怎么做。",

    # tlcourse.widgets.lr_demo
    "learning rate": "学习率",
    "steps": "步数",
    "Train": "训练",
    "<b>Choose at least 10 steps</b>: with 0 steps nothing is trained.":
        "<b>请至少选 10 步</b>：0 步什么也不会训练。",
    "Run {run}: gradient descent {verdict} (final MSE {loss:.4g}).":
        "第 {run} 次运行：梯度下降{verdict}（最终均方误差 {loss:.4g}）。",
    "diverged": "发散了",
    "converged": "收敛了",
    "Fitting a line by gradient descent": "用梯度下降拟合一条直线",
    "step": "步",
    "mean squared error": "均方误差",
    "final loss": "最终损失",
    "verdict": "结论",

    # tlcourse.widgets.freezelab: labels, choices (their values stay English), messages, plot, run table
    "frozen": "冻结",
    "trainable": "可训练",
    "removed": "移除",
    "all at once": "同时训练",
    "gradual": "逐步解冻",
    "uniform 1e-3": "统一 1e-3",
    "discriminative": "分层学习率",
    "custom": "自定义",
    "bottom": "底部",
    "middle": "中部",
    "top": "顶部",
    "{layer} (new head)": "{layer}（新分类头）",
    "keep the pretrained weights fixed": "保持预训练权重不变",
    "fine-tune this layer": "微调这一层",
    "cut the network below this layer": "在这一层之下截断网络",
    "images/class": "每类图像数",
    "epochs": "轮数",
    "schedule": "训练方式",
    "train every trainable layer from the start": "从一开始就训练所有可训练层",
    "top group first, one group more per stage (epochs per stage)":
        "先训练顶部一组，每个阶段多解冻一组（轮数按阶段计）",
    "lr preset": "学习率预设",
    "lr {group}": "学习率·{group}",
    "train a new model with these settings": "按这些设置训练一个新模型",
    "<b>FreezeLab</b>: {target}, layers bottom to top": "<b>FreezeLab</b>：{target}，各层自下而上",
    "{target} (given data)": "{target}（给定数据）",
    "Choose at least 1 image per class: with no data there is nothing to learn from.":
        "每类至少选 1 张图像：没有数据就无从学习。",
    "Choose at least 1 epoch: with 0 epochs nothing is trained.": "至少选 1 轮：0 轮什么也不会训练。",
    "The learning rate of {groups} is {lr:g}: learning rates must be positive. To stop a layer from learning, "
    "set it to <i>frozen</i> instead.":
        "{groups}的学习率是 {lr:g}：学习率必须为正数。"
        "想让某一层不再学习，请把它设为<i>冻结</i>。",
    "<b>Something went wrong</b>: {error}": "<b>出错了</b>：{error}",
    "<b>Cannot train</b>: {problem}": "<b>无法训练</b>：{problem}",
    "Training run {run} ...": "正在进行第 {run} 次训练……",
    "<b>Cannot load the data</b>: {error}": "<b>无法加载数据</b>：{error}",
    "; the frozen layers' features came from the cache": "；冻结层的特征取自缓存",
    "; the frozen layers ran once, their features are now cached":
        "；冻结层已运行一次，其特征现已缓存",
    "Run {run}: best val acc {acc:.3f} after {epochs} epochs in {seconds:.1f} s ({params:,} trainable "
    "parameters{cache_note}).":
        "第 {run} 次训练：{epochs} 轮，最佳验证准确率 {acc:.3f}，用时 {seconds:.1f} 秒"
        "（可训练参数 {params:,} 个{cache_note}）。",
    "train loss": "训练损失",
    "val loss": "验证损失",
    "train acc": "训练准确率",
    "val acc": "验证准确率",
    "earlier runs (val acc)": "之前的训练（验证准确率）",
    "Loss of this run": "本次训练的损失",
    "epoch": "轮次",
    "cross-entropy": "交叉熵",
    "Accuracy": "准确率",
    "accuracy": "准确率",
    "no runs yet": "还没有训练记录",
    "run": "序号",
    "plan": "方案",
    "n/class": "每类数",
    "lrs": "学习率",
    "trainable params": "可训练参数",
    "cached layers": "缓存层",
    "seconds": "秒",
    "test acc*": "测试准确率*",
    "* test accuracy: for the final report only; compare and choose runs by val acc.":
        "* 测试准确率仅用于最终报告；比较和挑选训练请看验证准确率。",
    "plan: one letter per layer, bottom to top (F frozen, T trainable, - removed). * test accuracy: for the "
    "final report only; choose by val acc.":
        "方案：每层一个字母，自下而上（F 冻结，T 可训练，- 移除）。"
        "* 测试准确率仅用于最终报告；请按验证准确率挑选。",
    "Stuck after trying? `tlcourse solution {id}` in a terminal (or `!tlcourse solution {id}` in a cell) shows "
    "the instructor's solution.":
        "试过仍卡住？在终端运行 `tlcourse solution {id}`（或在单元格中运行 `!tlcourse solution {id}`）"
        "即可查看教师的参考答案。",
    "{id}: {choice} is not one of the options {options}": "{id}：{choice} 不是选项之一，可选：{options}",
    "No prediction yet: write one of {options} before you run the experiment.":
        "还没有预测：运行实验之前，先写下 {options} 中的一个。",
    "Noted: you predict ({key}) {text}": "已记下：你预测 ({key}) {text}",
    "The run says ({key}) {text}.": "实验结果是 ({key}) {text}。",
    "You made no prediction: next time commit to one first, it is what makes the result stick.":
        "你没有做预测：下次先写下一个，结果才会让你记得住。",
    "You predicted it.": "你预测对了。",
    "You predicted ({key}) {text}: worth a second look at why not.": "你预测的是 ({key}) {text}：值得再想想为什么不是。",
    "{name} network": "{name} 网络",
    "1. higher start": "1. 起点更高",
    "2. steeper slope, epochs 0-{k}:": "2. 斜率更陡，第 0-{k} 轮：",
    "points per epoch": "个百分点/轮",
    "3. higher asymptote (last {n} epochs)": "3. 渐近线更高（最后 {n} 轮）",
    "epoch (0 = before any target training)": "训练轮数（0 = 尚未在目标域上训练）",
    "test accuracy": "测试准确率",
    "Pretrained vs scratch, learning curves": "预训练与从零训练的学习曲线",
}

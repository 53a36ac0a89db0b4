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

    # tlcourse.exercises: the hints check(...) shows after a failed public check ("Hint: {hint}")
    "Return a + b.": "返回 a + b。",
    "The square root of the sum of the squares.": "各分量平方和的平方根。",
    "numpy.mean, converted to a Python float.": "用 numpy.mean，再转换成 Python 的 float。",
    "Take the argmax over the class dimension (dim=1), compare with the labels, and average the matches as floats.":
        "在类别维度（dim=1）上取 argmax，与标签比较，再把比较结果转成浮点数求平均。",
    "The classifier is scored on the very points it was fitted to: with many features and few points it separates "
    "anything, even two samples of one distribution. Score it on held-out points: "
    "sklearn.model_selection.cross_val_score(clf, x, d, cv=5).mean().":
        "分类器是在它拟合过的那些点上打分的：特征多、样本少时，它什么都能分开，"
        "哪怕是来自同一分布的两个样本。请在留出的点上给它打分："
        "sklearn.model_selection.cross_val_score(clf, x, d, cv=5).mean()。",
    "Draw x and y with different spreads (e.g. y three times wider than x), then subtract from each sample its own "
    "mean (over the rows): the means are then equal, the distributions are not.":
        "让 x 和 y 的离散程度不同（例如 y 的宽度是 x 的三倍），再让每个样本减去它自己的均值（按行求均值）："
        "这样两者均值相等，分布却不同。",
    "For each class c draw round(proportions[c] * n) of the indices where y == c, without replacement "
    "(np.random.default_rng(seed).choice(..., replace=False)).":
        "对每个类别 c，从 y == c 的下标中无放回地抽取 round(proportions[c] * n) 个"
        "（np.random.default_rng(seed).choice(..., replace=False)）。",
    "Find the column of each digit by name (classes.index(str(d)) for d in range(10)), keep only those columns of "
    "the logits, and take the argmax over them: it is then already a digit 0..9.":
        "按名字找到每个数字所在的列（classes.index(str(d)) for d in range(10)），只保留 logits 的这些列，"
        "再在它们上面取 argmax：得到的就已经是数字 0..9。",
    "A probe scored on the images it was fitted to measures memorisation: with 128 features and a few hundred "
    "images even random features are separable. Fit on the training features, score on the test features: "
    "clf.fit(train_features, train_y).score(test_features, test_y)":
        "在拟合过的图像上给探测分类器打分，衡量的只是记忆：128 个特征、几百张图像，连随机特征都能分开。"
        "请在训练特征上拟合，在测试特征上打分："
        "clf.fit(train_features, train_y).score(test_features, test_y)",
    "Loop over model.named_children(); for each child sum p.numel() over its parameters (weights and biases) and "
    "keep the ones with a non-zero count.":
        "遍历 model.named_children()；对每个子模块，把它所有参数（权重和偏置）的 p.numel() 相加，"
        "只保留参数个数不为 0 的层。",
    "surgery.replace_head copies the network with a new last layer; then freeze everything and unfreeze 'fc3'.":
        "surgery.replace_head 会复制网络并换上新的最后一层；然后冻结所有层，再解冻 'fc3'。",
    "Keep only the runs of this strategy, target and size; group them by learning rate; average the *validation* "
    "accuracy over seeds; return the rate with the best mean (the smaller rate on a tie). The test split must play "
    "no part in a choice.":
        "只保留这个策略、目标域和数据量的训练记录；按学习率分组；对各随机种子的*验证*准确率求平均；"
        "返回均值最高的学习率（并列时取较小的）。测试集不能参与任何选择。",
    "For each strategy of this target and size, stored.interval(accuracies over seeds) gives (mean, half-width). "
    "Take the two best means: answer the best strategy only if mean - half-width of the best is above mean + "
    "half-width of the runner-up, else 'tie'.":
        "对这个目标域和数据量下的每个策略，stored.interval(各随机种子的准确率) 给出 (均值, 半宽)。"
        "取均值最高的两个：只有当最好者的 均值 - 半宽 高于第二名的 均值 + 半宽 时才回答最好的策略，"
        "否则回答 'tie'。",
    "Walk over the weighted layers bottom to top (tlcourse.models.layer_names); set requires_grad=False on every "
    "parameter up to and including `layer`, and True above it.":
        "自下而上遍历带权重的层（tlcourse.models.layer_names）；对 `layer` 及其以下各层的每个参数设 "
        "requires_grad=False，对它上面的层设为 True。",
    "requires_grad=False stops new gradients, but the optimizer still holds the parameter and the gradient tensor "
    "left by earlier steps (zeroed, not None): momentum and weight decay keep updating it. PyTorch's optimizers "
    "skip a parameter whose .grad is None.":
        "requires_grad=False 只会阻止新的梯度，但优化器仍然持有这个参数，以及之前各步留下的梯度张量"
        "（被清零了，但不是 None）：动量和权重衰减会继续更新它。PyTorch 的优化器会跳过 .grad 为 None 的参数。",
    "Look where the smoothed loss falls steeply, left of its minimum: the minimum itself is already at the edge of "
    "divergence.":
        "看平滑后的损失在最小值左侧下降得最陡的地方：最小值本身已经处在发散的边缘。",
    "Start from zeros of shape (N, C, H*W), put each pooled value at its flat index with scatter_add_ along the last "
    "dimension, then reshape to (N, C, H, W).":
        "从形状为 (N, C, H*W) 的全零张量开始，用 scatter_add_ 沿最后一维把每个池化后的值放到它的展平下标处，"
        "再 reshape 成 (N, C, H, W)。",
    "Positive weights where the ink should be (top row), negative where the background should be (bottom row), and "
    "weights that sum to 0 so a flat patch gives 0.":
        "笔迹应在的位置（上面一行）用正权重，背景应在的位置（下面一行）用负权重，并让权重之和为 0，"
        "这样平坦的图块得到 0。",
    "Compare each branch with the lesson's table: max-pool is undone with the switches recorded on the way up "
    "(viz.unpool or your unpool), and the deconvnet's ReLU acts on the signal coming down, not on the forward "
    "pass's mask.":
        "把每个分支和课上的表格对照：最大池化要用向上传播时记录的开关（switches）还原"
        "（viz.unpool 或你自己的 unpool），而反卷积网络（deconvnet）的 ReLU 作用于向下传回的信号，"
        "而不是前向传播的掩码。",
    "Subclass torch.autograd.Function: forward returns x unchanged (x.view_as(x)), backward returns "
    "-lambd * grad_output (and None for lambd).":
        "继承 torch.autograd.Function：forward 原样返回 x（x.view_as(x)），backward 返回 "
        "-lambd * grad_output（lambd 对应的梯度返回 None）。",
    "2 / (1 + math.exp(-gamma * p)) - 1": "2 / (1 + math.exp(-gamma * p)) - 1",
    "F.binary_cross_entropy_with_logits on each domain with targets 0 (source) and 1 (target), then average the two "
    "means.":
        "对每个域分别用 F.binary_cross_entropy_with_logits，目标为 0（源域）和 1（目标域），再对两个均值求平均。",
    "f_s, f_t are given; loss_y = cross-entropy of model.head(f_s); the discriminator reads "
    "grad_reverse(torch.cat([f_s, f_t]), trade_off * dann_lambda(p)); loss_d = domain_loss of its logits split "
    "back into source and target; then zero_grad, backward of the sum, step; return both losses as floats.":
        "f_s、f_t 已经给出；loss_y = model.head(f_s) 的交叉熵；领域判别器读入 "
        "grad_reverse(torch.cat([f_s, f_t]), trade_off * dann_lambda(p))；loss_d = 把它的 logits "
        "拆回源域和目标域两部分后的 domain_loss；然后 zero_grad，对两者之和 backward，再 step；"
        "把两个损失都以 float 返回。",
    "k(a, b) = exp(-||a - b||^2 / (2 sigma^2)) for all pairs (torch.cdist); leave out the diagonal of k(x, x) and "
    "k(y, y) for the unbiased estimate.":
        "对所有点对计算 k(a, b) = exp(-||a - b||^2 / (2 sigma^2))（torch.cdist）；"
        "无偏估计要去掉 k(x, x) 和 k(y, y) 的对角线。",
    "odds = p / (1 - p); multiply by n_source / n_target; clip with torch.clamp(max=clip); divide by the mean.":
        "odds = p / (1 - p)；乘以 n_source / n_target；用 torch.clamp(max=clip) 截断；再除以均值。",
    "w = importance_weights(f_source, f_target); the weights are worth using when effective_sample_size(w) keeps a "
    "good part of len(f_source) (say a third or more); return a bool.":
        "w = importance_weights(f_source, f_target)；当 effective_sample_size(w) 保留了 len(f_source) "
        "的相当一部分（比如三分之一或更多）时，这些权重才值得用；返回一个 bool。",
    "x @ weight.T + bias is the frozen layer; add (alpha / r) * x @ lora_a.T @ lora_b.T, with r = lora_a.shape[0].":
        "x @ weight.T + bias 是冻结的层；再加上 (alpha / r) * x @ lora_a.T @ lora_b.T，其中 r = lora_a.shape[0]。",
    "Resize to 96 x 96 (F.interpolate, bilinear, antialias=True), repeat the grey channel three times (expand or "
    "repeat), then map [0, 1] to [-1, 1] with 2 * x - 1.":
        "缩放到 96 x 96（F.interpolate，bilinear，antialias=True），把灰度通道重复三次（expand 或 repeat），"
        "再用 2 * x - 1 把 [0, 1] 映射到 [-1, 1]。",
    "mean = np.mean(accs); s = np.std(accs, ddof=1); half-width = t * s / sqrt(n) with "
    "t = scipy.stats.t.ppf(0.975, n - 1) (4.30 for 3 seeds, not 1.96).":
        "mean = np.mean(accs)；s = np.std(accs, ddof=1)；半宽 = t * s / sqrt(n)，其中 "
        "t = scipy.stats.t.ppf(0.975, n - 1)（3 个随机种子时是 4.30，不是 1.96）。",
    "For each strategy of fc.STRATEGIES measure its validation accuracy (capstone.validation_accuracy(task, s), or "
    "train it with capstone.train_strategy and evaluate on task.val), then return (the best one's name, the dict "
    "strategy -> accuracy).":
        "对 fc.STRATEGIES 中的每个策略测量验证准确率（capstone.validation_accuracy(task, s)，"
        "或用 capstone.train_strategy 训练后在 task.val 上评估），然后返回 (最好策略的名字, 策略 -> 准确率 的字典)。",
    "Three fixes: surgery.replace_head before any training on the target; set .classes to the target's; the "
    "transfer step freezes the body (surgery.freeze, then unfreeze 'fc3'), the fine-tune step starts from a copy "
    "of it with everything unfrozen.":
        "要改三处：在目标域上做任何训练之前先调用 surgery.replace_head；把 .classes 设为目标域的类别；"
        "迁移这一步冻结网络主体（surgery.freeze，再解冻 'fc3'），微调这一步从它的一个副本开始，所有层都解冻。",

    # tlcourse.grading.example: the example assignment's public checks
    "add(1, 2) should be 3, got {got!r}": "add(1, 2) 应该等于 3，得到的是 {got!r}",
    "return a float, not {type}": "请返回 float，而不是 {type}",
    "the norm of [0, 2] is 2.0, got {got}": "[0, 2] 的范数是 2.0，得到的是 {got}",
    "return a Python float, not {type}": "请返回 Python 的 float，而不是 {type}",
    "the mean of [1, 2, 6] is 3.0, got {got}": "[1, 2, 6] 的均值是 3.0，得到的是 {got}",

    # tlcourse.exercises.lesson00
    "return a Python float (use .item()), not {type}": "请返回 Python 的 float（用 .item()），而不是 {type}",
    "an accuracy is a fraction between 0 and 1, got {got}": "准确率是 0 到 1 之间的比例，得到的是 {got}",
    "3 of these 4 predictions are right, so expect 0.75; got {got:.4f}":
        "这 4 个预测中有 3 个正确，所以应为 0.75；得到的是 {got:.4f}",

    # tlcourse.exercises.lesson01
    "return the proxy A-distance as a Python number, not {type}":
        "请以 Python 数值返回代理 A 距离（proxy A-distance），而不是 {type}",
    "two samples of ONE distribution (100 points each, 60 features) get a proxy A-distance of {same:.2f}; "
    "they cannot really be told apart, so expect about 0. Is the classifier scored on points it trained on?":
        "来自同一个分布的两个样本（各 100 个点，60 个特征）得到的代理 A 距离是 {same:.2f}；"
        "它们其实无法区分，所以应在 0 附近。分类器是不是在它训练过的点上打分的？",
    "two clearly different samples (every feature moved by 1) get {far:.2f}; expect near 2. "
    "Keep d_A = 2 * (1 - 2 * error) with the held-out error":
        "两个明显不同的样本（每个特征都平移了 1）得到 {far:.2f}；应接近 2。"
        "请保持 d_A = 2 * (1 - 2 * error)，其中 error 是留出数据上的错误率",
    "return two samples of shape (n, d) = (200, 3), got {x_shape} and {y_shape}":
        "请返回两个形状为 (n, d) = (200, 3) 的样本，得到的是 {x_shape} 和 {y_shape}",
    "the linear-kernel MMD^2 (the squared distance of the two sample means) must be 0, it is {linear:.2g} "
    "times the data's variance: make the two sample means exactly equal":
        "线性核的 MMD^2（两个样本均值之间距离的平方）必须为 0，现在它是数据方差的 {linear:.2g} 倍："
        "请让两个样本的均值完全相等",
    "the Gaussian-kernel MMD^2 is only {gaussian:.3f}: the two samples look alike to it too. Make the "
    "distributions differ in something other than the mean (spread, shape)":
        "高斯核的 MMD^2 只有 {gaussian:.3f}：在它看来两个样本也差不多。"
        "请让两个分布在均值以外的方面（离散程度、形状）有所不同",
    "return a 1-d array of indices, got shape {shape}": "请返回一维的下标数组，得到的形状是 {shape}",
    "asked for n=100 images, got {n}": "要求 n=100 张图像，得到的是 {n} 张",
    "the indices must point into y": "下标必须落在 y 的范围内",
    "draw without replacement: an image may appear only once": "请无放回地抽取：每张图像只能出现一次",
    "with proportions {p} and n=100 expect class counts [50, 30, 20, 0], got {counts}":
        "比例为 {p}、n=100 时，各类别的数量应为 [50, 30, 20, 0]，得到的是 {counts}",
    "the same seed must give the same sample": "相同的随机种子必须得到相同的样本",
    "pick the images at random with the seed, not the first ones": "请用随机种子随机挑选图像，而不是取前面几张",

    # tlcourse.exercises.lesson02
    "return a tensor of predicted digits, got {type}": "请返回预测数字组成的张量，得到的是 {type}",
    "one prediction per row: expected shape (3,), got {shape}": "每行一个预测：形状应为 (3,)，得到的是 {shape}",
    "use only the digit columns: a letter's logit must not win": "只用数字所在的列：字母的 logit 不能胜出",
    "expected the digits [7, 0, 9], got {got}": "应得到数字 [7, 0, 9]，得到的是 {got}",
    " (you kept the digit columns in the order they appear in `classes`; take them in the order "
    "'0', '1', ..., '9' so that position d is digit d)":
        "（你按数字列在 `classes` 中出现的顺序保留了它们；请按 '0', '1', ..., '9' 的顺序取列，"
        "让位置 d 对应数字 d）",
    "return the accuracy as a Python float, not {type}": "请以 Python 的 float 返回准确率，而不是 {type}",
    "fitted on pure noise (random features, random labels) your probe scores {got:.2f}; "
    "on new images it can only guess (about 1/3). Is it scored on the images it was fitted to?":
        "在纯噪声（随机特征、随机标签）上拟合，你的探测分类器得分为 {got:.2f}；"
        "在新图像上它只能靠猜（约 1/3）。它是不是在拟合过的图像上打分的？",
    "three well separated clusters should be classified almost perfectly, got {got:.3f}":
        "三个分得很开的簇应该几乎全部分对，得到的是 {got:.3f}",
    "trained on shuffled labels the probe should be near chance (1/3), got {got:.3f}: "
    "fit on the training features and labels only, never on the test set":
        "在打乱的标签上训练，探测分类器应接近随机水平（1/3），得到的是 {got:.3f}："
        "只在训练特征和标签上拟合，绝不能用测试集",
    "return a dict layer name -> count, got {type}": "请返回 层名 -> 参数个数 的字典，得到的是 {type}",
    "expected the layers with parameters, bottom to top: {want}, got {got}":
        "应得到带参数的各层（自下而上）：{want}，得到的是 {got}",
    "count the biases too, not only the weights": "偏置也要计入，不能只算权重",
    "expected {want}, got {got}": "应为 {want}，得到的是 {got}",

    # tlcourse.exercises.lesson03
    "return a copy: the pretrained network must stay as it was": "请返回一个副本：预训练网络必须保持原样",
    "the pretrained network's own head was changed": "预训练网络自己的分类头被改动了",
    "the new head should have 4 outputs, it has {n}": "新分类头应有 4 个输出，现在有 {n} 个",
    "the body's weights should be the pretrained ones": "网络主体的权重应该是预训练的权重",
    "only fc3 should train, but these layers train: {trainable}": "只有 fc3 应该训练，但这些层在训练：{trainable}",
    "return the learning rate as a float, got {type}": "请以 float 返回学习率，得到的是 {type}",
    "1e-3 has the best single *test* run: a choice made on the test split is a leak":
        "1e-3 有最好的单次*测试*结果：根据测试集做出的选择就是数据泄露",
    "3e-3 has the best single validation run, but one lucky seed is not evidence: average":
        "3e-3 有最好的单次验证结果，但一个走运的随机种子不算证据：请取平均",
    "3e-4 appears only in rows of another target, size or strategy": "3e-4 只出现在其他目标域、数据量或策略的记录里",
    "1e-2 has the best mean validation accuracy over the seeds, got {got}":
        "1e-2 在各随机种子上的平均验证准确率最高，得到的是 {got}",
    "on a tie return the smaller rate": "并列时请返回较小的学习率",
    "return a strategy name or 'tie', got {type}": "请返回策略名或 'tie'，得到的是 {type}",
    "on 'clear', (a) is ahead of (c) by about 10 points on every seed and the "
    "intervals do not touch: choose it (got {got!r})":
        "在 'clear' 上，(a) 在每个随机种子上都领先 (c) 约 10 个百分点，且两者的区间互不接触："
        "应选它（得到的是 {got!r}）",
    "on 'close', (a) and (c) trade places from seed to seed and their intervals overlap: "
    "the evidence does not separate them, answer 'tie' (got {got!r})":
        "在 'close' 上，(a) 和 (c) 随随机种子不同而互有先后，且区间重叠：证据分不出高下，"
        "应回答 'tie'（得到的是 {got!r}）",
    "one seed gives no interval at all: that is a 'tie', not a winner":
        "只有一个随机种子根本给不出区间：这是 'tie'，不是赢家",

    # tlcourse.exercises.lesson04
    "return the model you were given (so calls can be chained), not a copy":
        "请返回传入的那个模型（这样调用可以串起来），而不是副本",
    "after freeze_up_to(net, 'conv2') conv1 and conv2 should be frozen "
    "and the rest trainable; trainable now: {trainable}":
        "freeze_up_to(net, 'conv2') 之后，conv1 和 conv2 应被冻结，其余各层可训练；现在的可训练情况：{trainable}",
    "freeze a layer's weight and its bias together; {partly} are half frozen":
        "请把一层的权重和偏置一起冻结；{partly} 只冻结了一半",
    "freezing up to fc2 should leave only fc3 training": "冻结到 fc2 为止之后，应该只剩 fc3 在训练",
    "layers above `layer` must train again, even if an earlier call froze them":
        "`layer` 以上的层必须重新可训练，即使之前的调用冻结过它们",
    "return the model you were given, not a copy": "请返回传入的那个模型，而不是副本",
    "{still} still move after freeze_layers(model, ['conv1', 'conv2']) under SGD with momentum "
    "and weight decay: the optimizer still updates them":
        "在带动量和权重衰减的 SGD 下，freeze_layers(model, ['conv1', 'conv2']) 之后 {still} 仍在变化："
        "优化器还在更新它们",
    "only conv1 and conv2 should stop; {stopped} stopped training too":
        "只有 conv1 和 conv2 应该停止训练；{stopped} 也停止了",
    "under AdamW (decoupled weight decay) the frozen layers move": "在 AdamW（解耦的权重衰减）下，冻结层仍在变化",
    "chosen_lr should be a number such as 3e-3, not {type}": "chosen_lr 应该是一个数，比如 3e-3，而不是 {type}",
    "a learning rate is positive": "学习率必须为正数",
    "{lr:.1e} is at or past the loss minimum ({minimum:.1e}): training there is unstable":
        "{lr:.1e} 已经到了或越过了损失的最小值（{minimum:.1e}）：在那里训练不稳定",
    "{lr:.1e} is far left of where the loss falls fastest ({steepest:.1e}): training would crawl":
        "{lr:.1e} 远在损失下降最快处（{steepest:.1e}）的左边：训练会慢得像爬",

    # tlcourse.exercises.lesson05
    "return a tensor, not {type}": "请返回张量，而不是 {type}",
    "the 4x4 example should give shape (1, 1, 4, 4), got {shape}": "4x4 的例子应得到形状 (1, 1, 4, 4)，得到的是 {shape}",
    "on the 4x4 example from the lesson, expected\n{want}\ngot\n{got}\n"
    "each maximum must go back where it came from, zeros elsewhere":
        "在课上的 4x4 例子中，应得到\n{want}\n实际得到\n{got}\n"
        "每个最大值都必须回到它原来的位置，其余位置为 0",
    "a (2, 3, 3, 4) input with output_size (6, 8) should give (2, 3, 6, 8), "
    "got {shape}: keep the batch and channel dimensions":
        "(2, 3, 3, 4) 的输入配上 output_size (6, 8) 应得到 (2, 3, 6, 8)，得到的是 {shape}：请保留批次维和通道维",
    "on a random batch your result differs from torch's F.max_unpool2d":
        "在一个随机批次上，你的结果与 torch 的 F.max_unpool2d 不同",
    "give a torch tensor, not {type}": "请给出 torch 张量，而不是 {type}",
    "a conv1 filter of the course network is 3x3, got shape {shape}": "课程网络 conv1 的滤波器是 3x3 的，得到的形状是 {shape}",
    "your weights sum to {total:.3f}: a flat image (all ink or all background) must give 0":
        "你的权重之和是 {total:.3f}：平坦的图像（全是笔迹或全是背景）必须得到 0",
    "your filter does not respond at all to ink above background": "你的滤波器对“上方笔迹、下方背景”完全没有响应",
    "background above ink": "上方背景、下方笔迹",
    "a vertical edge": "竖直边缘",
    "your filter responds to {what} ({response:.2f}) almost as much as to ink above background ({best:.2f})":
        "你的滤波器对{what}的响应（{response:.2f}）几乎和对“上方笔迹、下方背景”的响应（{best:.2f}）一样大",
    "a stack of convs and ReLUs (no max-pool)": "由卷积层和 ReLU 堆成的网络（没有最大池化）",
    "the ReLU step: the deconvnet keeps the positive part of the signal coming down (relu of it); "
    "multiplying by the forward pass's mask is backpropagation's rule, the gradient":
        "ReLU 这一步：反卷积网络保留向下传回信号的正的部分（对它取 relu）；"
        "乘以前向传播的掩码是反向传播的规则，算出的是梯度",
    "a stack of convs and max-pools (no ReLU)": "由卷积层和最大池化堆成的网络（没有 ReLU）",
    "the unpooling step: each value goes back to its switch (the position of its maximum on the "
    "way up), zeros elsewhere":
        "反池化这一步：每个值回到它的开关位置（向上传播时最大值所在的位置），其余位置为 0",
    "convs, ReLUs and max-pools": "卷积层、ReLU 和最大池化",
    "on {what} the walk should end in pixel space, shape {want}, got {got}":
        "在{what}上，回溯应在像素空间结束，形状为 {want}，得到的是 {got}",
    "the ReLU step: multiplying by the forward mask is backpropagation's rule, so you "
    "computed the gradient, not the deconvnet":
        "ReLU 这一步：乘以前向掩码是反向传播的规则，所以你算出的是梯度，而不是反卷积网络的结果",
    "on {what} your walk differs from the deconvnet": "在{what}上，你的回溯与反卷积网络的结果不同",
    "; check {fix}": "；请检查{fix}",

    # tlcourse.exercises.lesson06
    "grad_reverse should return a tensor, got {type}": "grad_reverse 应返回张量，得到的是 {type}",
    "the output should keep the input's shape {want}, got {got}": "输出应保持输入的形状 {want}，得到的是 {got}",
    "forward must be the identity: grad_reverse(x, lambd) should equal x":
        "前向传播必须是恒等映射：grad_reverse(x, lambd) 应等于 x",
    "the output must stay connected to the graph (do not detach it)": "输出必须仍连在计算图上（不要 detach）",
    "with lambd={lambd} the gradient should be -{lambd} times the incoming one":
        "lambd={lambd} 时，梯度应是传入梯度的 -{lambd} 倍",
    "torch.autograd.gradcheck failed": "torch.autograd.gradcheck 没有通过",
    "the schedule must start at 0, got {got}": "调度必须从 0 开始，得到的是 {got}",
    "dann_lambda({p}) should be {want:.4f}, got {got}": "dann_lambda({p}) 应为 {want:.4f}，得到的是 {got}",
    "use the gamma argument instead of a fixed 10": "请使用参数 gamma，而不是固定的 10",
    "return a 0-d tensor (a scalar loss)": "请返回 0 维张量（一个标量损失）",
    "source is domain 0 and target is domain 1, not the other way round": "源域是域 0，目标域是域 1，不要弄反",
    "expected {want:.4f}, got {got:.4f}": "应为 {want:.4f}，得到的是 {got:.4f}",
    " (you pooled both domains; average the two domains' means instead)":
        "（你把两个域合在一起算了；请改为对两个域各自的均值求平均）",
    "the loss must be differentiable with respect to the logits": "损失必须对 logits 可微",
    "return the two losses, (label loss, domain loss)": "请返回两个损失：(标签损失, 领域损失)",
    "the label loss should be {want:.4f}, got {got:.4f}: cross-entropy of model.head(f_s) and y_s":
        "标签损失应为 {want:.4f}，得到的是 {got:.4f}：它是 model.head(f_s) 与 y_s 的交叉熵",
    "the domain loss should be {want:.4f}, got {got:.4f}: domain_loss of the discriminator's logits on "
    "the source features, then on the target features (one discriminator call on torch.cat([f_s, f_t]))":
        "领域损失应为 {want:.4f}，得到的是 {got:.4f}：它是领域判别器在源域特征、再在目标域特征上的 logits 的 "
        "domain_loss（对 torch.cat([f_s, f_t]) 调用一次判别器）",
    "the parameters did not move: call optimizer.step() (after backward)":
        "参数没有变化：请（在 backward 之后）调用 optimizer.step()",
    "the features were pushed to *help* the discriminator: reverse the gradient (grad_reverse)":
        "特征被推向*帮助*领域判别器的方向：请反转梯度（grad_reverse）",
    "the reversal weight ignores the schedule: use trade_off * dann_lambda(p)":
        "反转权重没有用上调度：请用 trade_off * dann_lambda(p)",
    "the reversal weight ignores trade_off: use trade_off * dann_lambda(p)":
        "反转权重没有用上 trade_off：请用 trade_off * dann_lambda(p)",
    "the feature extractor did not move as one DANN step moves it (did you zero the "
    "gradients before backward, and take one step on loss_y + loss_d?)":
        "特征提取器的变化与一步 DANN 训练不符（你是否在 backward 之前清零了梯度，"
        "并对 loss_y + loss_d 只走了一步？）",
    "the discriminator did not learn as it should: it minimises the domain loss, at full rate":
        "领域判别器没有按应有的方式学习：它以完整的学习率最小化领域损失",
    "the label head did not move as it should": "标签分类头的变化不对",
    "the second step's losses differ: zero the gradients at every step": "第二步的损失不对：每一步都要清零梯度",

    # tlcourse.exercises.lesson07
    "return a 0-d tensor": "请返回 0 维张量",
    "you computed the biased estimate: leave out the i = j terms": "你算的是有偏估计：请去掉 i = j 的项",
    "expected {want:.5f}, got {got:.5f}": "应为 {want:.5f}，得到的是 {got:.5f}",
    "two samples of one distribution should give ~0": "来自同一分布的两个样本应得到约 0",
    "one weight per source sample: expected shape (4,), got {shape}": "每个源域样本一个权重：形状应为 (4,)，得到的是 {shape}",
    "clip the weights first, then normalise to mean 1": "先截断权重，再归一化到均值为 1",
    "the weights should average to 1": "权重的均值应为 1",
    "return True or False, got {type}": "请返回 True 或 False，得到的是 {type}",
    "on two overlapping samples (the target is a slightly moved copy of the source) "
    "importance weighting is worth trying: the weights keep most of the sample":
        "在两个相互重叠的样本上（目标域是源域稍加平移的副本），重要性加权值得一试：权重保留了样本的大部分",
    "on two samples that barely overlap, a few source examples would carry all the "
    "weight: look at the effective sample size of the weights":
        "在两个几乎不重叠的样本上，少数几个源域样本会占去全部权重：请看权重的有效样本量",

    # tlcourse.exercises.lesson08
    "expected a (5, 4) tensor, got {got}": "应得到 (5, 4) 的张量，得到的是 {got}",
    "with lora_b = 0 the layer must be exactly the frozen layer x W^T + b":
        "lora_b = 0 时，这一层必须恰好等于冻结的层 x W^T + b",
    "scale the low-rank update by alpha / r (here 8 / 2 = 4)": "低秩更新要乘以 alpha / r（这里是 8 / 2 = 4）",
    "the output differs from peft's LoRA layer with the same factors": "输出与使用相同因子的 peft LoRA 层不同",
    "wrong for rank 3 and alpha 6: take r from lora_a.shape[0]": "秩为 3、alpha 为 6 时结果不对：r 要取 lora_a.shape[0]",
    "expected shape (3, 3, 96, 96): 3 colour channels at 96 x 96, got {shape}":
        "形状应为 (3, 3, 96, 96)：96 x 96 的 3 个颜色通道，得到的是 {shape}",
    "a grey image becomes colour by repeating its one channel: the three channels must be equal":
        "灰度图像通过重复它唯一的通道变成彩色：三个通道必须相等",
    "a pixel of {value} should become {want}: the network expects [-1, 1], not [0, 1]":
        "值为 {value} 的像素应变成 {want}：网络需要的是 [-1, 1]，而不是 [0, 1]",
    "resize the whole image to 96 x 96 (no crop, no padding)": "请把整张图像缩放到 96 x 96（不裁剪，不填充）",

    # tlcourse.exercises.lesson09
    "return a tuple (mean, low, high), got {got!r}": "请返回元组 (mean, low, high)，得到的是 {got!r}",
    "the mean of [0.80, 0.82, 0.84] is 0.82, got {mean}": "[0.80, 0.82, 0.84] 的均值是 0.82，得到的是 {mean}",
    "the interval should be symmetric about the mean": "区间应关于均值对称",
    "with 3 seeds use Student's t with 2 degrees of freedom, not the normal 1.96":
        "3 个随机种子时要用自由度为 2 的 Student t 分布，而不是正态分布的 1.96",
    "use the sample standard deviation (ddof=1), not the population one": "请用样本标准差（ddof=1），而不是总体标准差",
    "the 95% half-width for these 3 values is 0.0497, got {half:.4f}":
        "这 3 个值的 95% 置信区间半宽是 0.0497，得到的是 {half:.4f}",
    "recommend must return a pair (choice, val_acc), got {type}: a bare name has no evidence":
        "recommend 必须返回一对 (choice, val_acc)，得到的是 {type}：光有一个名字，没有证据",
    "the choice must be one of {strategies}, got {choice!r}": "选择必须是 {strategies} 之一，得到的是 {choice!r}",
    "val_acc must be a dict with one validation accuracy per strategy: keys {strategies}":
        "val_acc 必须是字典，每个策略一个验证准确率：键为 {strategies}",
    "accuracies are fractions between 0 and 1": "准确率是 0 到 1 之间的比例",
    "return the strategy with the best validation accuracy you measured": "请返回你测得的验证准确率最高的策略",
    "the task has no test split, and recommend must not load one": "这个任务没有测试集，recommend 也不能去加载测试集",
    "your validation accuracy for {strategy!r} ({got:.3f}) is far from what training it at "
    "capstone's default budget gives ({expected:.3f}): measure it, on task.val":
        "你给 {strategy!r} 的验证准确率（{got:.3f}）与按 capstone 默认训练预算训练它得到的结果"
        "（{expected:.3f}）相差太远：请在 task.val 上实际测量",
    "recommend chose {choice!r} for {variant} (seed {seed}) with evidence ":
        "recommend 为 {variant}（随机种子 {seed}）选择了 {choice!r}，证据：",
    "return two different models (transferred, fine-tuned), not the input model":
        "请返回两个不同的模型（迁移的、微调的），而不是传入的模型",
    "the target has {k} classes, but the models output {transferred} and {finetuned} scores: "
    "replace the 10-way head":
        "目标域有 {k} 个类别，但两个模型分别输出 {transferred} 和 {finetuned} 个分数：请替换 10 类的分类头",
    "the models still carry the old class names: set .classes to the target's":
        "模型还带着旧的类别名：请把 .classes 设为目标域的类别",
    "the pretrained model passed in was changed: work on copies": "传入的预训练模型被改动了：请在副本上操作",
    "the transfer step changed {layers}: it should train only the new head": "迁移这一步改动了 {layers}：它应该只训练新的分类头",
    "fine-tuning left {layers} unchanged: it should train every layer": "微调没有改动 {layers}：它应该训练所有层",

    # tlcourse.progress: `tlcourse progress` and lesson 00's progress report
    "Your progress in {workspace}": "你在 {workspace} 中的进度",
    "No workspace yet at {workspace}: `make lab` makes it on its first run.":
        "{workspace} 还没有工作区：第一次运行 `make lab` 时会创建它。",
    "not checked yet": "尚未检查",
    "failed": "未通过",
    "{passed} of {n} exercises pass their public checks ({points:g} of {total:g} points; "
    "your instructor's hidden tests decide the grade).":
        "{n} 道练习中有 {passed} 道通过了公开检查（{total:g} 分中的 {points:g} 分；最终成绩由老师的隐藏测试决定）。",

    # tlcourse.stored: table(...) headers (the keys of stored.summarize and of the lessons' rows)
    "(no rows)": "（没有数据）",
    "n": "次数",
    "mean": "均值",
    "std": "标准差",
    "min": "最小值",
    "max": "最大值",
    "ci95": "95%半宽",
    "network": "网络",
    "optimizer": "优化器",
    "strategy": "策略",
    "rate": "学习率",
    "target": "目标域",
    "layer": "层",
    "method": "方法",
    "budget": "标注预算",

    # tlcourse.train: History.plot
    "val_acc": "验证准确率",
    "train_acc": "训练准确率",

    # tlcourse.lr_finder: LRFinder.plot
    "loss per batch": "每批次的损失",
    "smoothed loss": "平滑后的损失",
    "minimum: {lr:.1e}": "最小值：{lr:.1e}",
    "steepest descent": "下降最快处",
    "min / 10": "最小值 / 10",
    "training loss": "训练损失",
    "Learning-rate finder": "学习率查找器",

    # tlcourse.domains: available() descriptions, show(...) titles
    "source: 60 printed characters (digits, lowercase, Greek, symbols) in 22 matplotlib fonts":
        "源域：60 个印刷字符（数字、小写字母、希腊字母、符号），使用 22 种 matplotlib 字体",
    "printed digits 0-9, rendered like the source": "印刷体数字 0-9，渲染方式与源域相同",
    "similar target: printed capitals A-Z, held out of the source": "相似的目标域：印刷体大写字母 A-Z，源域中没有",
    "similar task, real shift: scikit-learn's 1797 handwritten digits, upsampled":
        "相似的任务，真实的偏移：scikit-learn 的 1797 张手写数字，经过放大",
    "different target: patches of 10 scikit-image photos/textures, labelled by image":
        "不同的目标域：10 张 scikit-image 照片/纹理上截取的图块，按所属图像标注",
    "different task sharing strokes: 10 procedurally drawn shapes": "共享笔画的不同任务：10 种程序生成的形状",
    "shift: printed digits blended on photo patches (MNIST-M style), strength in [0, 1]":
        "偏移：印刷体数字叠加在照片图块上（MNIST-M 风格），strength 取值 [0, 1]",
    "shift: printed digits rotated by strength * 90 degrees, strength in [0, 1]":
        "偏移：印刷体数字旋转 strength * 90 度，strength 取值 [0, 1]",
    "shift: a fraction `strength` of printed digits drawn dark on bright, strength in [0, 1]":
        "偏移：比例为 `strength` 的印刷体数字画成亮底暗字，strength 取值 [0, 1]",
    "real backbone's target: 3 x 96 x 96 colour patches of 10 skimage images; strength: closer, greyer":
        "真实骨干网络的目标域：10 张 skimage 图像上截取的 3 x 96 x 96 彩色图块；strength：越大越近、越灰",
    "{name} ({split}, {n} images)": "{name}（{split}，{n} 张图像）",

    # tlcourse.shift: format_table headers
    "pair": "域对",
    "domain acc": "领域分类准确率",
    "proxy A-dist": "代理 A 距离",

    # tlcourse.zoo: CheckpointError
    "Rebuild it with `tlcourse pretrain` (about a minute on a laptop CPU).":
        "请用 `tlcourse pretrain` 重新生成（在笔记本电脑的 CPU 上大约一分钟）。",
    "cannot read {path} ({error}). {rebuild}": "无法读取 {path}（{error}）。{rebuild}",
    "the course checkpoint {path} is missing. {rebuild}": "课程检查点 {path} 不存在。{rebuild}",
    "the course checkpoint {path} is corrupt: its sha256 is {actual}..., expected {expected}... {rebuild}":
        "课程检查点 {path} 已损坏：它的 sha256 是 {actual}...，应为 {expected}... {rebuild}",
    "cannot load {path} ({error}). {rebuild}": "无法加载 {path}（{error}）。{rebuild}",

    # tlcourse.four_cases: plot_learning_curves
    "target: {target}": "目标域：{target}",
    "training images per class": "每类训练图像数",

    # tlcourse.label_budget: plot (legend labels are LABELS' values)
    "fine-tuning on the labels alone": "只用标签微调",
    "DANN (no target label)": "DANN（不用目标域标签）",
    "DANN + labels (joint loss)": "DANN + 标签（联合损失）",
    "source + labels (joint loss, no alignment)": "源域 + 标签（联合损失，不做对齐）",
    "this lesson's run": "本节课的运行",
    "labelled target images per class": "每类有标签的目标域图像数",
    "target test accuracy": "目标域测试准确率",
    "The label budget (mean of {seeds} seeds, 95% intervals)": "标注预算（{seeds} 个随机种子的均值，95% 置信区间）",

    # tlcourse.transferability: plot and table
    "layer n at which the network is chopped and retrained": "在第 n 层截断网络并重新训练",
    "test accuracy on B": "在 B 上的测试准确率",
    "(base)": "（基线）",
    "{split} split, {n} seed(s); baseB = {base:.3f}": "{split} 划分，{n} 个随机种子；baseB = {base:.3f}",
    "Transferability of each layer ({split} split, {seeds} seeds)": "各层的可迁移性（{split} 划分，{seeds} 个随机种子）",
    "Transferability of each layer ({split} split, {seeds} seed)": "各层的可迁移性（{split} 划分，{seeds} 个随机种子）",

    # tlcourse.viz: filter grids and top activations
    "{name} filters ({k}x{k}); bright = positive weight": "{name} 的滤波器（{k}x{k}）；亮 = 正权重",
    "top-{k} inputs": "前 {k} 个输入",
    "{layer} ch {c}": "{layer} 通道 {c}",
    " (silent)": "（沉默）",
    "{layer}: strongest inputs per channel": "{layer}：每个通道响应最强的输入",

    # tlcourse.label_budget: verdicts (lesson 07 prints them)
    "{label} does not beat DANN on average from any budget on (up to {top} per class).":
        "{label}在任何预算下平均都没有胜过 DANN（最多每类 {top} 张）。",
    "{label} beats DANN on average from {b} labelled image per class on, ":
        "{label}从每类 {b} 张有标签图像起平均胜过 DANN，",
    "{label} beats DANN on average from {b} labelled images per class on, ":
        "{label}从每类 {b} 张有标签图像起平均胜过 DANN，",
    "and on every one of the {seeds} seeds from {be} on.": "从每类 {be} 张起在全部 {seeds} 个随机种子上都胜过。",
    "but not on every one of the {seeds} seeds from any budget on.": "但在任何预算下都没有在全部 {seeds} 个随机种子上胜过。",
    "beats": "胜过",
    "does not beat": "没有胜过",
    "beats only at some budgets": "只在部分预算下胜过",
    "DANN + labels {verdict} {label} on average at the small budgets (per class: {per}); it "
    "wins {wins} of {n} seed-budget pairs.":
        "在小预算下（每类：{per}），DANN + 标签平均{verdict}{label}；"
        "在 {n} 个“随机种子-预算”组合中赢了 {wins} 个。",

    # tlcourse.workspace and `tlcourse workspace`: what `make lab` says about the learner's copies
    "no course notebooks in {source}: a workspace is made from the instructor's notebooks/ of a clone of the course":
        "{source} 中没有课程 notebook：工作区是从课程克隆中老师的 notebooks/ 生成的",
    "the workspace cannot be the course's own folder {source}: choose another one":
        "工作区不能是课程自己的文件夹 {source}：请另选一个",
    "{state} was damaged: a new one is started (your notebooks are untouched)":
        "{state} 已损坏：重新开始记录（你的 notebook 没有被改动）",
    "skipped {name}: cannot make its student copy ({error})": "跳过了 {name}：无法生成它的学员副本（{error}）",
    "restored a fresh copy of {name}": "恢复了 {name} 的全新副本",
    "added {name}": "添加了 {name}",
    "{name} is not the course's copy: the course's is beside it as {update}":
        "{name} 不是课程的副本：课程的版本放在它旁边，名为 {update}",
    "updated {name} (you had not changed it)": "更新了 {name}（你没有改动过它）",
    "{name} changed in the course; your copy stays as it is, the new version is beside it: {update}":
        "{name} 在课程中有了更新；你的副本保持不变，新版本放在它旁边：{update}",
    "your workspace: {folder} ({lessons} lessons)": "你的工作区：{folder}（{lessons} 节课）",
    "your workspace: {folder} ({lessons} lessons, up to date)": "你的工作区：{folder}（{lessons} 节课，已是最新）",

    # tlcourse.solutions: `tlcourse solution ID`
    "solutions are switched off for this class (TLCOURSE_SOLUTIONS=off): ask your instructor":
        "这个班级关闭了参考答案（TLCOURSE_SOLUTIONS=off）：请问老师",
    "the instructor's notebooks are not in this copy of the course ({source})":
        "这份课程副本中没有教师的 notebook（{source}）",
    "no exercise {id!r}; the course has: {known}": "没有练习 {id!r}；课程中有：{known}",
    "The instructor's solution of {id} ({notebook}, cell {cell}):": "{id} 的教师参考答案（{notebook}，单元格 {cell}）：",
    "{id} has no solution cell (it is graded by hand)": "{id} 没有答案单元格（这道题由人工评分）",

    # clear messages for bad input (tlcourse.domains, surgery, models, train)
    "unknown domain {name!r}; available: {names}": "未知的域 {name!r}；可用的有：{names}",
    "none": "无",
    "domain {name!r} has no option {unknown}; its options: {valid}": "域 {name!r} 没有选项 {unknown}；它的选项：{valid}",
    "strength must be in [0, 1], got {strength!r}": "strength 必须在 [0, 1] 之间，得到的是 {strength!r}",
    "n_per_class={n} is impossible{where}: it has {most} images of class {smallest!r} "
    "(its smallest class); use 1..{most}":
        "n_per_class={n} 不可行{where}：类别 {smallest!r}（它最小的类别）只有 {most} 张图像；请用 1..{most}",
    "unknown split {split!r}; use one of {splits}": "未知的数据划分 {split!r}；请用其中之一：{splits}",
    "no layer named {layer}; this model has {names}": "没有名为 {layer} 的层；这个模型的层有：{names}",
    "no layer named {layer!r}; this model has {names}": "没有名为 {layer!r} 的层；这个模型的层有：{names}",
    "num_classes must be at least 1, got {n}": "num_classes 至少为 1，得到的是 {n}",
    "the head {layer!r} is a {type}, expected nn.Linear": "分类头 {layer!r} 是 {type}，应为 nn.Linear",
    "no learning rate given for layers {missing}": "没有给这些层指定学习率：{missing}",
    "no layer {layer!r}; this model has {names}": "没有层 {layer!r}；这个模型的层有：{names}",
    "x has {x} rows but y has {y}": "x 有 {x} 行，但 y 有 {y} 行",
    "expected a DomainData, an (x, y) tuple or a tensor, got {type}": "应为 DomainData、(x, y) 元组或张量，得到的是 {type}",
    "nothing to train: every layer is frozen": "没有可训练的内容：所有层都被冻结了",
    "unknown schedule {schedule!r}; use 'constant' or 'onecycle'": "未知的调度 {schedule!r}；请用 'constant' 或 'onecycle'",
    "nothing to train: every parameter is frozen (requires_grad=False)":
        "没有可训练的内容：所有参数都被冻结了（requires_grad=False）",
    "unknown optimizer {optimizer!r}; use 'adam' or 'sgd'": "未知的优化器 {optimizer!r}；请用 'adam' 或 'sgd'",
    "the training set is empty": "训练集是空的",

    # progress bars of the lessons' live runs (tlcourse.four_cases, tlcourse.transferability)
    "runs": "训练",
    "curves": "曲线",
    "{split} split, seed {seed}": "{split} 划分，随机种子 {seed}",

    # tlcourse.transferability: findings (lesson 03 prints each claim with its evidence)
    "co-adaptation: frozen BnB dips below baseB in the middle (n = 2..4)":
        "协同适应：冻结的 BnB 在中间几层（n = 2..4）低于 baseB",
    "lowest there is n={n}: BnB {acc:.3f} vs baseB {base:.3f}": "其中最低的是 n={n}：BnB {acc:.3f}，baseB {base:.3f}",
    "specificity: at n=5 frozen features from A do worse than from B": "特异性：n=5 时来自 A 的冻结特征不如来自 B 的",
    "AnB {a:.3f} vs BnB {b:.3f} ({gap:+.3f})": "AnB {a:.3f}，BnB {b:.3f}（{gap:+.3f}）",
    "AnB falls as more frozen layers come from A": "来自 A 的冻结层越多，AnB 越低",
    "fine-tuned transfer AnB+ is at least as good as baseB at every depth": "微调后的迁移 AnB+ 在每个深度都不比 baseB 差",
    "lowest AnB+ is at n={n}: {acc:.3f} vs baseB {base:.3f}": "AnB+ 最低在 n={n}：{acc:.3f}，baseB {base:.3f}",
    "transfer boost: AnB+ beats BnB+ (the same training, features from the other half)":
        "迁移增益：AnB+ 胜过 BnB+（训练相同，特征来自另一半类别）",
    "AnB+ - BnB+ averages {boost:+.3f} over n = {first}..{last}": "在 n = {first}..{last} 上 AnB+ - BnB+ 平均为 {boost:+.3f}",
    "dissimilar halves transfer worse than random halves (AnB - BnB at n=5)":
        "不相似的两半比随机的两半迁移得更差（n=5 时的 AnB - BnB）",
    "dissimilar {dissimilar:+.3f} vs random {random:+.3f}": "不相似 {dissimilar:+.3f}，随机 {random:+.3f}",

    # tlcourse.grading.judge and .job: the per-exercise verdicts and run notes of a graded submission,
    # and the exercises' grading rules (i18n.Message, shown in the submission's language)
    'not done yet: replace `raise NotImplementedError()` with your code.':
        '还没有完成：请把 `raise NotImplementedError()` 换成你的代码。',
    '`{args}` did not exist when the grader looked at your answer (did its cell raise an error, or was it renamed?).':
        '评分程序查看你的答案时，`{args}` 并不存在（它所在的单元格是否抛出了异常，或者被改了名字？）。',
    "your code raised {name} on the grader's inputs.":
        '你的代码在评分程序的输入上抛出了 {name}。',
    'your answer does not have the expected form.':
        '你的答案不是预期的形式。',
    ' and {n} more':
        ' 等另外 {n} 项',
    "your answer differs from the solution on the grader's fresh inputs ({shown}).":
        '在评分程序新抽取的输入上，你的答案与参考答案不同（{shown}）。',
    'cell {n}':
        '第 {n} 个单元格',
    'cell {n} (put back by the grader)':
        '第 {n} 个单元格（由评分程序放回）',
    'not checked: the notebook used up its time limit ({seconds:.0f} s).':
        '未检查：notebook 用完了它的时间限制（{seconds:.0f} 秒）。',
    'not checked: the kernel had to be restarted more than {n} times.':
        '未检查：内核重启次数超过了 {n} 次。',
    'stopped after {seconds:.0f} s (the time limit per cell) while checking your answer.':
        '检查你的答案时，运行到 {seconds:.0f} 秒（每个单元格的时间限制）被停止。',
    'the kernel died while checking your answer (over the {mb} MB memory limit, or the process was killed).':
        '检查你的答案时内核崩溃了（超过了 {mb} MB 的内存限制，或者进程被终止）。',
    'the grader found no observation of your answer (did your code stop the kernel or remove files in out/?).':
        '评分程序没有找到对你的答案的观测结果（你的代码是否停止了内核，或删除了 out/ 中的文件？）。',
    ' (the memory limit is {mb} MB)':
        '（内存限制为 {mb} MB）',
    '{where} raised {name}{memory}.':
        '{where}抛出了 {name}{memory}。',
    '{where} was stopped after {seconds:.0f} s (the time limit per cell).':
        '{where}运行到 {seconds:.0f} 秒（每个单元格的时间限制）被停止。',
    '{where}: the kernel died while running it (over the {mb} MB memory limit, or the process was killed); the notebook was run again without it.':
        '{where}：运行它时内核崩溃了（超过了 {mb} MB 的内存限制，或者进程被终止）；notebook 已去掉它重新运行。',
    'The notebook ran out of its total time ({seconds:.0f} s); later cells were not run.':
        'notebook 用完了总时间（{seconds:.0f} 秒）；后面的单元格没有运行。',
    'not graded: the grader failed on this exercise (your instructor has been told).':
        '未评分：评分程序在这道练习上出错了（老师已经收到通知）。',
    'not done yet: your answer cell `{answer}` still raises NotImplementedError.':
        '还没有完成：你的答案单元格 `{answer}` 仍然抛出 NotImplementedError。',
    'return the proxy A-distance as a Python number':
        '请把代理 A 距离作为一个 Python 数返回',
    'two samples of one distribution got a large proxy A-distance: score the domain classifier on points it did not train on':
        '来自同一分布的两份样本得到了很大的代理 A 距离：请在域分类器没有训练过的点上给它评分',
    'two clearly different samples got a small proxy A-distance: keep d_A = 2 * (1 - 2 * error)':
        '两份明显不同的样本得到了很小的代理 A 距离：请保持 d_A = 2 * (1 - 2 * error)',
    'return two samples of shape (n, d) for the n and d asked':
        '请按要求的 n 和 d 返回两份形状为 (n, d) 的样本',
    'the samples must be finite numbers':
        '样本必须是有限的数',
    'the two sample means differ: the linear-kernel MMD is not 0':
        '两份样本的均值不同：线性核 MMD 不为 0',
    'the Gaussian-kernel MMD barely sees a difference: make the distributions differ beyond the mean':
        '高斯核 MMD 几乎看不出差别：请让两个分布在均值之外也有所不同',
    'return a 1-d array of integer indices':
        '请返回一个由整数下标组成的一维数组',
    "the class counts of your sample do not follow the proportions on the grader's labels":
        '在评分程序的标签上，你的样本中各类的数量不符合给定的比例',
    'return the accuracy as a Python float':
        '请把准确率作为一个 Python float 返回',
    "your probe's accuracy on the grader's features is far from a standardised logistic regression's":
        '在评分程序的特征上，你的探测器的准确率与标准化后的逻辑回归相差很远',
    'trained on wrong labels your probe should score near 0 on the test set: fit on the training set, score on the test set':
        '用错误的标签训练时，你的探测器在测试集上的得分应该接近 0：请在训练集上拟合，在测试集上评分',
    'chosen_lr should be a positive number such as 3e-3':
        'chosen_lr 应该是一个正数，比如 3e-3',
    'your learning rate is outside the range where the loss still falls before its minimum':
        '你的学习率不在损失到达最低点之前仍在下降的范围内',
    'your learning rate is far left of where the loss falls fastest: training would crawl':
        '你的学习率远在损失下降最快处的左边：训练会慢得像在爬',
    'the smoothed loss does not fall at your learning rate':
        '在你的学习率下，平滑后的损失没有下降',
    'give a 3x3 filter':
        '请给出一个 3x3 的滤波器',
    'your weights do not sum to 0: a flat image must give 0':
        '你的权重之和不为 0：一张平坦的图像必须得到 0',
    'your filter does not respond to ink above background':
        '你的滤波器对“上方是墨迹、下方是背景”的边缘没有响应',
    'your filter responds to other edges almost as much as to ink above background':
        '你的滤波器对其他边缘的响应几乎和对“上方是墨迹、下方是背景”的边缘一样强',
    'recommend was not run on the tasks the grader drew':
        'recommend 没有在评分程序抽取的任务上运行',
    "on the grader's task {i} of {n} ({variant}): {why}":
        '在评分程序的第 {i} 个任务（共 {n} 个，{variant}）上：{why}',
    'recommend must return (choice, val_acc) with val_acc a dict of the validation accuracy you measured for each of the {n} strategies':
        'recommend 必须返回 (choice, val_acc)，其中 val_acc 是一个字典，包含你为 {n} 种方案各自测得的验证准确率',
    'the validation accuracies you report for {strategies} are not what training them on this task gives: measure each strategy (capstone.train_strategy, then task.val)':
        '你为 {strategies} 报告的验证准确率，与在这个任务上训练它们得到的结果不符：请逐一测量每种方案（先 capstone.train_strategy，再在 task.val 上评估）',
    'your choice {choice!r} is not the strategy with the best validation accuracy you measured':
        '你的选择 {choice!r} 并不是你测得的验证准确率最高的方案',
    "your choice {choice!r} falls short of {near:.0%} of the best strategy's test accuracy on this task":
        '在这个任务上，你的选择 {choice!r} 达不到最佳方案测试准确率的 {near:.0%}',

    # adapt.study.table; viz.compare_channels
    'seeds': '种子数',
    'target accuracy: mean +- std [min, max]': '目标域准确率：均值 +- 标准差 [最小, 最大]',
    'gap closed': '弥合的差距',
    'before': '微调前',
    'after': '微调后',
    '{model}: inputs': '{model}：输入',
    '{model}: deconv': '{model}：反卷积',
    '{layer}: the same channels {before} and {after}': '{layer}：同一批通道，{before}与{after}',

    # tlcourse.grading.merge and .job: notes on a submission's cells, and why a file was refused
    'cell `{gid}` appears more than once; the first copy was graded, the others ignored.':
        '单元格 `{gid}` 出现了不止一次；只评了第一份，其余的忽略。',
    'your notebook has no answer cell `{cell}` (deleted, or its metadata lost?): paste your answer into a fresh copy of the notebook.':
        '你的 notebook 里没有答案单元格 `{cell}`（被删掉了，还是它的元数据丢了？）：请把答案粘贴到一份新的 notebook 副本中。',
    'the file is {mb:.0f} MB, more than the {limit} MB allowed (clear the outputs and submit again)':
        '文件有 {mb:.0f} MB，超过了允许的 {limit} MB（请清除输出后重新提交）',
    'the file is empty':
        '文件是空的',
    'the file is not a valid Jupyter notebook ({error})':
        '这个文件不是有效的 Jupyter notebook（{error}）',
    'your submission has no notebook {name}.':
        '你的提交中没有 notebook {name}。',
}

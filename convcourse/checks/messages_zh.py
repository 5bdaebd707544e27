"""The checks' messages in simplified Chinese (简体中文), for students of 《动手学深度学习》.

Plain tables, no imports, so that importing them costs next to nothing; ``messages`` builds the
"zh" catalogue from them.  A misconception is (title, explanation, hint): its lesson section is
the English entry's (section ids are not translated).  The words follow d2l-zh 6.1 and 6.2:
互相关运算 (cross-correlation), 卷积核 (kernel), 卷积层, 平移不变性, 局部性, 感受野, 特征映射
(feature map), 填充 (padding), 步幅 (stride), 偏置 (bias), 梯度, 学习率, 迭代周期 (epoch),
广播 (broadcasting), 全连接层 (dense layer).  Code, names, shapes, numbers and the placeholders
of ``str.format`` stay exactly as in English; tests/checks/test_checks_zh.py checks that.
"""

#: Where each misconception points back to (the keys of ``messages.SECTIONS_EN``).
SECTIONS_ZH: dict[str, str] = {
    "dense": "第 01 课“图像上的全连接层”（《动手学深度学习》6.1 节）",
    "locality": "第 01 课“平移不变性和局部性”（《动手学深度学习》6.1.2 节）",
    "shape": "第 02 课“互相关运算”中的输出大小（《动手学深度学习》6.2.1 节）",
    "corr": "第 02 课“互相关运算”（《动手学深度学习》6.2.1 节）",
    "fast": "第 02 课“更快的 corr2d”",
    "matmul": "第 02 课“把互相关运算写成矩阵乘法”",
    "convolution": "第 02 课“互相关和卷积”（《动手学深度学习》6.2.5 节）",
    "layer": "第 03 课“卷积层”（《动手学深度学习》6.2.2 节）",
    "stacking": "第 03 课“堆叠卷积层：从简单模式到复杂模式”（《动手学深度学习》6.2.6 节）",
    "curvature": "第 05 课“学习率”，以及 0.03 为什么适用于 6×8 图像",
    "grad": "第 03 课“关于卷积核的梯度”",
    "detectors": "第 04 课“图像中目标的边缘检测”（《动手学深度学习》6.2.3 节）",
    "training": "第 05 课“学习卷积核”（《动手学深度学习》6.2.4 节）",
    "channels": "第 01 课“通道”与 1×1 卷积（《动手学深度学习》6.1.4 节）",
    "signals": "第 02 课“一维情形：声音”（《动手学深度学习》6.1 节练习 4）",
}

#: (title, explanation, hint) of every misconception of ``messages.MISCONCEPTIONS_EN``.
MISCONCEPTIONS_ZH: dict[str, tuple[str, str, str]] = {
    # --- any exercise ---
    "raised": (
        "你的代码抛出了错误",
        "检查调用了你的代码，但它在返回结果之前因错误而中止。",
        "阅读错误信息和它指出的那一行，然后在下面给出的用例上手动运行这一行（打印相关张量的形状）"
        "。",
    ),
    "timeout": (
        "你的代码没有在限定时间内结束",
        "检查对每次调用都设有时间限制。一直不返回的代码通常含有一个条件永远不会变为假的循环"
        "（例如计数器从不改变的 while 循环），或者在等待输入。",
        "在下面给出的小用例上运行你的函数，并在循环中加一个 print，看看它是否在推进。",
    ),
    "not_implemented": (
        "还没有写",
        "答案单元格仍然抛出 NotImplementedError，这是练习的占位代码。",
        "把 `raise NotImplementedError()` 换成你的代码，运行该单元格，再运行这个测试。",
    ),
    "not_defined": (
        "名称未定义",
        "检查要查找的名称在你的 notebook 中没有定义。",
        "运行上面的答案单元格（以及它之前的单元格）；名称要与练习要求的完全一致。",
    ),
    "returned_none": (
        "没有返回任何值",
        "没有 `return` 语句的 Python 函数返回 None。把结果算到一个变量里还不够：函数必须返回它。",
        "检查函数的最后一行是否返回了结果（并且不在循环内部）。",
    ),
    "not_a_tensor": (
        "得到的是 NumPy 数组或列表，而不是张量",
        "课程后面的内容（层、自动微分、训练）都使用 torch 张量。NumPy 数组或 Python 列表"
        "没有梯度，没有设备，也没有 torch 的任何方法。",
        "用 torch 运算构造结果（torch.zeros、切片、sum……），或者在最后用 torch.as_tensor 转换。",
    ),
    "wrong_type": (
        "值的类型不对",
        "练习要求一种特定类型的值（见下文）；检查得到的却是别的东西。",
        "把你的代码返回的内容与练习的说明对照一下；打印 type(result)。",
    ),
    "nan_output": (
        "结果中出现了 NaN 或无穷大",
        "结果中出现了 NaN（非数）或 inf。通常是某个元素从未被写入（torch.empty 里是内存中"
        "原有的任意值），或者某个值无限增长。",
        "用 torch.zeros 代替 torch.empty，并确保每个元素都被计算。",
    ),
    "wrong_shape": (
        "结果的形状不对",
        "结果的形状与练习要求的不一致。",
        "先在下面给出的小用例上手算出期望的形状，再与你的代码生成的形状比较。",
    ),
    "wrong_values": (
        "数值不对",
        "结果的形状正确，但有些值与期望值不同，而且这种差异不符合检查所知道的任何常见错误。",
        "按照课程中的公式，手算小用例的一个元素，再逐步与你的代码比较。",
    ),
    "wrong_device": (
        "结果在另一个设备上",
        "输入在 CPU 上，而你的结果在另一个设备上。不同设备上的张量无法一起运算，"
        "因此课程的下一步会失败。",
        "在输入所在的设备上创建新张量（device=X.device），不要在函数内部用 .to(...) 或 .cuda() "
        "移动结果。",
    ),
    "modified_input": (
        "你的代码修改了它的输入",
        "`+=`、`X[...] = ...` 或以 `_` 结尾的方法这类运算会原地修改张量。调用者的张量也随之"
        "改变，这会破坏之后还要使用的数据（而且对需要梯度的张量，自动微分禁止这样做）。",
        "在新的张量上计算（结果用 torch.zeros；如果必须修改，就先用 `.clone()` 复制一份），"
        "不要改动参数。",
    ),
    "library_conv": (
        "要求自己写代码的地方用了库中的卷积",
        "这个练习要求你自己实现这个运算；库中的卷积（torch.nn.functional.conv2d、torch.conv2d、"
        "torch.ops.aten.convolution、nn.Conv2d 模块、scipy 或 numpy 的 correlate 和 convolve）"
        "会替你算出结果，所以在这里不得分。练习的规则说明了允许使用什么。",
        "只用基本的张量运算（切片、乘法、sum、循环、unfold、einsum、matmul），和课程中一样。",
    ),
    "shipped_code": (
        "用了课程或 d2l 自带的代码",
        "你的答案运行了课程自带的代码（convcourse 包）或 d2l 的某个实现（d2l.corr2d、d2l.sgd、"
        "d2l.squared_loss、d2l.SGD、d2l.Trainer、d2l.train_*）；练习要求你自己写，所以不得分。",
        "在你的 notebook 中用张量运算写出这个函数。d2l 的其他辅助函数（d2l.try_gpu、d2l.plot、"
        "d2l.Timer、d2l.Animator）可以使用。",
    ),
    "recorder_tampered": (
        "检查无法观察你的代码：结果不可信",
        "检查会记录你的代码运行了哪些库函数和课程函数。在这次调用中，这个记录被关掉了"
        "（sys.setprofile、sys.settrace、torch 的 function 或 dispatch 模式、torch._C 的开关），"
        "或者有别人的钩子（调试器、性能分析器、留在 torch 模式栈上的模式）处于活动状态，"
        "所以它看到的一切都不可信。",
        "删掉修改 sys.setprofile/settrace 或 torch 模式的代码，关闭所有调试器或性能分析器，"
        "重启内核后重新运行 notebook。",
    ),
    "internal_error": (
        "检查程序本身出错了",
        "这很可能不是你的错：检查代码遇到了意料之外的情况。",
        "请把下面的信息告诉你的老师。",
    ),
    # --- cross-correlation ---
    "flipped_kernel": (
        "做的是真正的卷积，而不是互相关运算",
        "深度学习中的“卷积”层计算的是互相关运算：卷积核按原样放在窗口上，"
        "Y[i, j] = Σ_a Σ_b X[i + a, j + b] · K[a, b]。把卷积核翻转（上下翻转和/或左右翻转）"
        "得到的是数学上的卷积，除非卷积核是对称的，否则结果不同。",
        "检查卷积核的下标与窗口的下标是否朝同一方向变化：不要有 `h - 1 - a`，不要用 torch.flip，"
        "不要用负步长。",
    ),
    "not_flipped": (
        "要求真正的卷积，却做了互相关运算",
        "真正的卷积在滑动之前先把卷积核上下、左右都翻转："
        "Y[i, j] = Σ_a Σ_b X[i + a, j + b] · K[h − 1 − a, w − 1 − b]。你的结果是用原样的卷积核"
        "做的互相关运算。",
        "在做互相关运算之前（或之中），把卷积核上下翻转并左右翻转。",
    ),
    "flipped_one_axis": (
        "卷积核只沿一个轴翻转了",
        "真正的卷积沿两个轴（行和列）翻转卷积核；只沿一个轴翻转，"
        "得到的既不是卷积也不是互相关运算。",
        "把卷积核的行和列都翻转。",
    ),
    "transposed_kernel": (
        "卷积核被转置了，而不是按原样使用",
        "转置把 K[a, b] 与 K[b, a] 互换；这与翻转不同，而互相关运算两者都不用。",
        "用 K[a, b] 索引卷积核，a 沿高度、b 沿宽度，与窗口 X[i + a, j + b] 一致。",
    ),
    "off_by_one": (
        "差一错误：卷积核能放下 n − k + 1 次",
        "大小为 k 的窗口在 n 个像素上滑动，共有 n − k + 1 个位置：0, 1, …, n − k。"
        "`range(n - k)` 漏掉了最后一个位置；`range(n - k + 2)` 越过了边缘，那里的窗口被截短了。",
        "对课程中 3×3 的输入和 2×2 的卷积核手数一下位置：输出是 2×2。",
    ),
    "swapped_hw": (
        "高度和宽度弄反了",
        "形状是（高度, 宽度）：shape[0] 是行数，shape[1] 是列数。只有两者相等时，"
        "弄混了才不会被发现。",
        "卷积核的高度配输入的高度，宽度配宽度；用非正方形的输入测试。",
    ),
    "square_only": (
        "只对正方形的输入或卷积核有效",
        "输入和卷积核是正方形时你的代码结果正确，否则就不对：某处把高度当成了宽度"
        "（例如两次用 X.shape[0]，或在该用 w 的地方用了 h）。",
        "给每个尺寸起自己的名字（n_h、n_w、k_h、k_w）并逐一检查每处用法；用 4×6 的输入和 "
        "1×3 的卷积核测试。",
    ),
    "hardcoded_example": (
        "硬编码成了课程中的例子",
        "你的代码能复现课程中的例子，但对其他输入不对：例子中的某个数（6、8、7、固定的卷积核"
        "或结果）被直接写进了代码，而不是由参数算出来。",
        "把每个写死的尺寸都换成由参数算出的值（X.shape、K.shape）。",
    ),
    "padded_output": (
        "得到的是填充后（“same”或“full”）的结果，而不是有效部分",
        "课程中的互相关运算只保留卷积核完全落在图像内部的位置：输出为 "
        "(n_h − k_h + 1) × (n_w − k_w + 1)，比输入小。用零填充是另一个步骤"
        "（后面的《动手学深度学习》6.3 节）。",
        "不要填充；让窗口位置从 0 取到 n − k。",
    ),
    "int_truncation": (
        "结果是整数：小数部分被截掉了",
        "整数张量存不下 2.5，所以把浮点数写进去会丢掉小数部分。对整数图像使用 "
        "torch.zeros_like(X)，或者 dtype=int，都会创建这样的张量。",
        "用浮点类型创建结果（torch.zeros(shape) 是 float32），或者用 X 和 K 提升后的类型"
        "（torch.promote_types）。",
    ),
    "transposed_matrix": (
        "矩阵被转置了",
        "M 把展平的输入（n_h·n_w 个值）映射为展平的输出（o_h·o_w 个值），所以每个输出像素占一行、"
        "每个输入像素占一列：形状为 (o_h·o_w, n_h·n_w)。",
        "M 的第 r 行是输出像素 r 的权重；检查 M @ X.reshape(-1) 能否运行。",
    ),
    "flatten_order": (
        "展平的顺序不对",
        "X.reshape(-1) 按行（行优先）列出像素：像素 (k, l) 对应下标 k·n_w + l，输出像素 (i, j) "
        "对应 i·o_w + j。按列优先编号（l·n_h + k）会把权重放到错误的位置。",
        "输入像素 (k, l) 所在的列按 k * n_w + l 计算（(i, j) 所在的行按 i * o_w + j 计算）。",
    ),
    # --- lesson 01 ---
    "counted_bias": (
        "把偏置算成了权重",
        "练习只统计与输入相乘的权重；偏置项是另外的参数。",
        "只数 W（或窗口 V）的元素。",
    ),
    "dense_count": (
        "全连接层对每一对（隐藏单元, 输入像素）都有一个权重",
        "在全连接层中，每个隐藏单元 (i, j) 对每个输入像素 (k, l) 都有自己的权重："
        "W[i, j, k, l]。总数是四个下标取值范围的乘积。",
        "数一数 W 有几个下标，再把它们的取值范围相乘。",
    ),
    "window_side": (
        "半径为 Δ 的窗口边长为 2Δ + 1",
        "偏移量 a 和 b 从 −Δ 取到 Δ：每侧 Δ 个再加上中心，共 2Δ + 1 个值；窗口是二维的，"
        "所以有 (2Δ + 1)² 个权重。",
        "对 Δ = 1 手动列出偏移量：−1, 0, 1。",
    ),
    "weight_index_order": (
        "四维权重的下标顺序不对",
        "W[i, j, k, l] 的前两个下标是隐藏单元 (i, j)，后两个是输入像素 (k, l)："
        "H[i, j] = U[i, j] + Σ_k Σ_l W[i, j, k, l] · X[k, l]。求和是对输入下标 k、l 进行的。",
        "把公式写在代码旁边，逐个对应 W 的每个下标。",
    ),
    "index_mapping": (
        "下标映射错误：写成了 k = i − a，而不是 k = i + a",
        "隐藏单元 (i, j) 读取相对其中心偏移 (a, b) 处的输入像素：k = i + a，l = j + b，"
        "权重为 V[a, b]。用 k = i − a 会反向读取窗口，相当于翻转了卷积核（即卷积）。",
        "对 Δ = 1，写出单元 (i, j) 的 V[−1, −1]（存放在 V[0, 0]）作用于哪个输入像素："
        "是左上角那个。",
    ),
    "missing_bias": (
        "缺少偏置",
        "层的输出是加权和再加上偏置：没有偏置，层就无法平移它的输出，而且这个参数永远不会被训练。",
        "把偏置加到结果上（在模块中，还要把它创建为参数）。",
    ),
    # --- lesson 03 ---
    "bias_shape": (
        "偏置的形状不对",
        "这个层只有一个输出通道，所以只有一个偏置，由所有输出像素共享：它是形状为 (1,) 的参数，"
        "通过广播相加。",
        "把偏置创建为 nn.Parameter(torch.zeros(1))。",
    ),
    "not_parameter": (
        "权重或偏置没有注册为 nn.Parameter",
        "只有用 nn.Parameter 包装（并赋值给 self）的张量才会出现在 layer.parameters() 中。"
        "普通张量对优化器和 layer.zero_grad() 都是不可见的，所以永远不会被训练。",
        "写 self.weight = nn.Parameter(...) 和 self.bias = nn.Parameter(...)。",
    ),
    "parameter_name": (
        "参数的名字不是 weight 和 bias",
        "练习（和 nn.Conv2d 一样）把卷积核命名为 `weight`，把偏置命名为 `bias`；训练这个层的代码"
        "会用到这些名字。",
        "把卷积核存为 self.weight，把偏置存为 self.bias。",
    ),
    "breaks_autograd": (
        "梯度到不了参数（自动微分的计算链断了）",
        "自动微分会记录得到结果的所有张量运算。.item()、float(...)、.tolist()、.numpy()、"
        ".detach()、.data 和 torch.no_grad() 都会脱离这个记录：数值是对的，但梯度无法反向传回"
        "卷积核。",
        "让每一步都是对输入的张量运算：写 Y[i, j] = (window * K).sum()，不要 .item()，"
        "也不要绕道 NumPy。",
    ),
    "used_autograd": (
        "在应该手推梯度的地方用了自动微分",
        "这个练习要求根据公式推导 dL/dK，让你看清它是什么运算（又是一次互相关运算）。"
        "调用 backward() 或 torch.autograd.grad 就跳过了这一步。",
        "写出 L = Σ_ij dY[i, j] · Y[i, j]，其中 Y[i, j] = Σ_ab X[i + a, j + b] K[a, b]，"
        "再对 K[a, b] 求导。",
    ),
    # --- lesson 04 ---
    "kernel_1d": (
        "一维张量不是卷积核",
        "卷积核是形状为（高度, 宽度）的二维张量。torch.tensor([a, b]) 是一维的，形状为 (2,)；"
        "二维张量是由行组成的列表：torch.tensor([[a, b]]) 是一行两个元素，形状为 (1, 2)，"
        "torch.tensor([[a], [b]]) 是一列，形状为 (2, 1)。",
        "补上缺少的方括号，让卷积核有两个维度；检查 K.shape。",
    ),
    "nonzero_on_flat": (
        "卷积核在平坦区域有响应",
        "在平坦（常数）区域，每个窗口里的值都相同，设为 c，所以响应为 c ·（卷积核各元素之和）。"
        "边缘或导数检测器在那里必须输出 0：它的各元素之和必须为 0。",
        "把卷积核的元素加起来；让正权重和负权重相互抵消。",
    ),
    "blind_to_edges": (
        "卷积核对它应当检测的边缘没有响应",
        "检测器沿变化的方向比较相邻的像素：它需要沿这个方向排列的正权重和负权重。",
        "在边缘两侧的两个像素上手算一下响应。",
    ),
    "wrong_orientation": (
        "卷积核检测的是另一个方向",
        "左右比较相邻像素的卷积核找到的是垂直边缘，那里的强度沿宽度变化；上下比较像素的卷积核"
        "找到的是水平边缘。你的卷积核对错误的那一种有响应。",
        "问问自己：穿过你要找的边缘时，强度沿哪个轴变化？把卷积核的权重沿这个轴排列。",
    ),
    "both_orientations": (
        "卷积核对另一方向的边缘也有响应",
        "水平边缘检测器在垂直边缘上必须保持沉默。你的卷积核对两者都有响应，所以无法区分它们。",
        "让卷积核的每一列之和为零（这样从左到右的变化就会抵消）。",
    ),
    "first_derivative": (
        "得到的是一阶导数，而不是二阶导数",
        "一阶差分（如 [[1, -1]]）对线性斜坡有响应；而斜坡的二阶导数为 0。二阶差分把一个像素与它"
        "两侧的邻居都作比较。",
        "取两个相邻一阶差分之差。",
    ),
    "not_smallest": (
        "正确，但不是最小的卷积核",
        "沿宽度的二阶导数只需要同一行中相邻的三个像素；多余的全零行或列只会白白让输出变小。",
        "去掉卷积核中用不到的行和列。",
    ),
    "wrong_scale": (
        "导数的比例或符号不对",
        "在图像 x² 上，沿 x 的二阶导数处处为 2。你的卷积核给出的是另一个常数，所以它是二阶导数"
        "乘以某个系数。",
        "推导二阶差分 f(x + 1) − 2 f(x) + f(x − 1)，并按原样使用它的系数。",
    ),
    "not_normalized": (
        "模糊卷积核之和不为 1",
        "模糊把每个像素替换为其邻域的加权平均。权重之和大于（或小于）1 时，图像还会变亮（或变暗）"
        "。",
        "把卷积核除以其元素之和。",
    ),
    "negative_weights": (
        "模糊卷积核中有负权重",
        "平均使用非负权重；负权重会减去邻居，这是锐化或检测边缘，而不是模糊。",
        "只用 ≥ 0 的权重。",
    ),
    "one_hot_kernel": (
        "所有权重都集中在一个像素上",
        "只有一个 1、其余为 0 的卷积核只是复制（或平移）图像；没有做任何平均，所以也没有模糊。",
        "把权重分散到窗口中的多个像素上。",
    ),
    "ignores_argument": (
        "忽略了参数",
        "无论得到什么参数，你的函数都返回同样的结果，例如一个固定大小的卷积核。",
        "用参数来构造结果（例如 torch.ones(size, size)）。",
    ),
    "too_few_points": (
        "少了一个像素：d 阶需要 d + 1 个像素",
        "一阶导数比较 2 个像素，二阶导数比较 3 个：d 阶差分组合 d + 1 个相邻采样点"
        "（就像 d 个间隔两端的栅栏桩）。",
        "数一数 [[1, -1]] 和 [[1, -2, 1]] 各用了几个像素。",
    ),
    "centred_window": (
        "2d + 1 个像素的居中窗口不是最小的",
        "每侧延伸 d 个像素的窗口可以工作，但最小的卷积核只需要 d + 1 个相邻像素。",
        "数一数 [[1, -1]]（一阶）和 [[1, -2, 1]]（二阶）各用了几个像素。",
    ),
    # --- lessons 03-05 ---
    "input_grad_unflipped": (
        "输入的梯度需要翻转卷积核",
        "输出 Y[i, j] 以权重 K[a, b] 使用像素 X[i + a, j + b]。所以像素 X[p, q] 从它参与的每个"
        "输出处得到 dY[p − a, q − b] · K[a, b]：偏移量是减去的，这是 dY 与 K 的真正卷积。"
        "用原样的 K 对填充后的 dY 做互相关运算，则是把偏移量加上了。",
        "对 1×2 的卷积核，手动写出对 X[0, 0] 和 X[0, 1] 的贡献，然后在做互相关运算之前把 K "
        "上下、左右翻转（torch.flip）。",
    ),
    "grad_not_full": (
        "输入的梯度对每个输入像素都有一个元素",
        "∂L/∂X 的形状与 X 相同：对形状为 (o_h, o_w) 的输出，它是 (o_h + k_h − 1, o_w + k_w − 1)。"
        "dY 的有效互相关（或 dY 本身）更小：缺少了被较少窗口覆盖的边缘像素。",
        "在做互相关运算之前，在 dY 的每一侧填充 k_h − 1 行和 k_w − 1 列零（即“full”卷积），"
        "或者把 K[a, b] · dY 加到一个形状与 X 相同的零张量的偏移 (a, b) 处。",
    ),
    "rf_no_overlap": (
        "相邻层的窗口是重叠的",
        "k×k 层的一个输出像素看到其输入的 k×k 个像素。这些像素中的每一个又是前一层由它自己的窗口"
        "算出的，而相邻窗口只差一行（或一列）：所以第二层在每个方向上只增加 k − 1 个像素，而不是 "
        "k 个。",
        "在一行像素上画出两个堆叠的 1×2 层：最终的一个输出依赖于 3 个像素，而不是 4 个。",
    ),
    "rf_multiplies": (
        "感受野按加法增长，而不是乘法",
        "步幅为 1 时，每一层都让一个输出所依赖的区域在每个方向上扩大 k − 1 个像素：堆叠层的感受野"
        "是 1 + Σ (k − 1)。把卷积核大小相乘需要跳过像素的层（步幅、池化）。",
        "对 3×3 输入上的两个 2×2 层（《动手学深度学习》中的例子）手数一下：唯一的输出依赖于全部 "
        "9 个输入像素，而不是 16 个。",
    ),
    "rf_last_layer_only": (
        "只算了一层",
        "感受野是在输入图像上、穿过所有层来度量的：最后一个卷积核说明前一个特征映射中哪些像素"
        "起作用，而其中每一个又依赖于更前面那个特征映射上的一个窗口。",
        "从一个输出像素出发逐层往回追溯，每经过一层区域就扩大 k − 1。",
    ),
    "rf_off_by_one": (
        "差一错误：单个 k×k 层看到 k×k 个像素",
        "一个 k×k 卷积核的单层使每个输出像素有 k×k 的感受野；每多一层就增加 k − 1。"
        "所以高度是 1 + Σ (k_h − 1)：其中的 1 就是输出像素本身。",
        "用单层和 1×1 卷积核（它恰好只看到一个像素）检验你的公式。",
    ),
    "edge_sign": (
        "差分的符号反了",
        "K = [[1, −1]] 计算 x[i, j] − x[i, j + 1]：像素减去它右边的邻居（转置后的 K 则是像素减去"
        "它下面的像素）。从黑（0）到白（1）得到 −1，从白到黑得到 +1。",
        "取图像中的一条边缘，手算这两个乘积：1 ·（左边或上边的像素）+ (−1) ·（右边或下边的像素）。",
    ),
    "diagonal_no_response": (
        "对角线边缘确实会产生响应",
        "差分卷积核只对与它比较方向平行的边缘视而不见：[[1, −1]] 在水平边缘上看不到任何东西，"
        "因为那里每个像素都等于它右边的邻居。沿对角线边缘，强度既从左到右变化，也从上到下变化，"
        "所以 [[1, −1]] 和它的转置都有响应（笔记里的说法与此相反；那是错的）。",
        "在对角线旁取一个像素，把它与右边的邻居以及下面的像素分别比较。",
    ),
    "transposes_confused": (
        "把两种转置弄混了",
        "转置图像时卷积核仍是一行：Xᵀ ⋆ K 把 Xᵀ 的每个像素与它右边的邻居比较，输出的高度与 Xᵀ "
        "相同，形状为 (n, n − 1)。转置卷积核则使它成为一列：X ⋆ Kᵀ 把 X 的每个像素与它下面的像素"
        "比较，形状为 (n − 1, n)。（两者互为转置：X ⋆ Kᵀ = (Xᵀ ⋆ K)ᵀ。）",
        "先根据图像和卷积核的形状推出每个输出的形状。",
    ),
    "integral_wrong_axis": (
        "用了一列，而不是一行",
        "滑动和沿宽度把邻居相加，x[i, j] + … + x[i, j + m − 1]：卷积核是一行 m 个元素，"
        "形状为 (1, m)。列卷积核（形状为 (m, 1)）则是沿高度求和。",
        "把卷积核写成 torch.tensor([[w, w, …, w]])（每行一对方括号），或者按形状 (1, m) 构造它。",
    ),
    "integral_box": (
        "用了正方形窗口，而不是一行",
        "权重相等的 m×m 卷积核在二维窗口上求和（或求平均）：既有 m 列，也有 m 行。"
        "沿宽度的滑动和只用一行。",
        "让卷积核的形状为 (1, m)。",
    ),
    "integral_window_length": (
        "窗口多了或少了一个像素",
        "m 个邻居的滑动和 x[i, j] + … + x[i, j + m − 1] 有 m 项，所以卷积核有 m 个元素"
        "（位置 0 到 m − 1）。",
        "对 m = 2 手数一下求和的项数。",
    ),
    "integral_scale": (
        "要求平均却求了和，或者反过来",
        "滑动和对窗口中每个像素的权重都是 1（像素间距为 1 时的离散积分）；滑动平均再除以像素数 m，"
        "使平坦区域保持原值。",
        "看看你的卷积核在值为 1 的常数图像上给出什么：和给出 m，平均给出 1。",
    ),
    "lr_limit_half": (
        "上限是 2 / λ_max，而不是 1 / λ_max",
        "梯度下降的一步把沿Hessian 矩阵某个特征向量方向的误差乘以 1 − η λ。只要这个因子在 −1 和 1 "
        "之间，误差就会缩小，也就是直到 η = 2 / λ；在 1 / λ 处因子为 0，这是最快的速率，"
        "而不是上限。",
        "对 η 解 |1 − η λ| < 1。",
    ),
    "hessian_factor": (
        "平方和的Hessian 矩阵有一个因子 2",
        "ℓ(k) = ‖A k − y‖² 的梯度是 2 Aᵀ(A k − y)，Hessian 矩阵是 H = 2 AᵀA：对平方求导会带下一个 "
        "2。"
        "用 AᵀA 本身的特征值会使上限翻倍。",
        "对单个窗口 a，把 (a k − y)² 对 k 求两次导数。",
    ),
    "lr_smallest_curvature": (
        "最陡的方向决定上限",
        "只有误差沿Hessian 矩阵的每个特征向量都缩小时，误差才会缩小，而最先发散的是最大特征值对应的"
        "方向：η < 2 / λ_max。最小特征值说明最平坦的方向有多慢，而不是训练何时发散。",
        "取最大的特征值（torch.linalg.eigvalsh 按升序返回特征值）。",
    ),
    # --- lesson 05 ---
    "no_zero_grad": (
        "梯度从未清零",
        "backward() 把新的梯度累加到 .grad 上，而不是替换它。不清零（K.grad.zero_() 或 "
        "optimizer.zero_grad()）时，每一步用的都是到目前为止所有梯度之和，训练会越过最优点或发散。",
        "每个迭代周期清零一次梯度，在更新之后（或在 backward() 之前）。",
    ),
    "wrong_direction": (
        "这一步在往上坡走",
        "梯度指向损失增长最快的方向；梯度下降朝相反方向走：K ← K − lr · grad。",
        "检查更新的符号。",
    ),
    "diverges": (
        "训练发散了",
        "损失在增长（或变成 inf/NaN），而不是缩小：每一步都走过了头。用平方误差之和时梯度很大，"
        "所以步长 lr · grad 必须保持很小。",
        "使用给定的 lr（而不是你自己的），每个迭代周期恰好减去一次 lr * K.grad，并且每个迭代周期"
        "都清零梯度。",
    ),
    "mean_instead_of_sum": (
        "用了平方误差的均值，而不是和",
        "课程中的损失是平方误差之和。均值（如 F.mse_loss）把损失及其梯度都除以输出的个数，"
        "所以每一步都相应地小了很多。",
        "用 ((Y_hat - Y) ** 2).sum() 作为损失。",
    ),
    "ignores_lr": (
        "忽略了学习率参数",
        "你的循环用自己的学习率训练，而不是用传入的 lr。",
        "在更新中使用参数 lr。",
    ),
    "ignores_init": (
        "训练不是从 K_init 开始的",
        "第一个损失就已经与 K_init 的损失不同：循环是从另一个卷积核（随机的或固定的）开始的。",
        "从 K_init 的副本开始：K = K_init.clone().requires_grad_(True)。",
    ),
    "wrong_epoch_count": (
        "迭代周期数不对",
        "`losses` 必须每个迭代周期保存一个损失，在该周期的更新之前记录：恰好 num_epochs 个值。",
        "用 `for epoch in range(num_epochs)` 循环，每个迭代周期追加一次损失。",
    ),
    "not_converged": (
        "还没有收敛",
        "学到的卷积核接近生成 Y 的那个卷积核，但不在容差之内：训练停得太早，或者步长太小。",
        "训练更多的迭代周期，或者用更大（但仍然稳定）的学习率，并观察损失趋近于 0。",
    ),
    # --- channels (lesson 01) ---
    "channel_order": (
        "权重的两个通道轴用反了",
        "W 每个输出通道占一行、每个输入通道占一列：W[d, c] 是从输入通道 c 到输出通道 d 的权重，"
        "所以输出通道 d 是 Σ_c W[d, c] · X[c] + b[d]。用 W[c, d] 只有在 c_i = c_o 时才能运行，"
        "而且算出的是另一个层。",
        "把一个输出通道 d 的求和式写在代码旁边，逐个对应 W 的每个下标。",
    ),
    "channels_last": (
        "通道放在了最后，而不是最前",
        "本课程遵循 PyTorch 的约定：带通道的图像形状为（通道, 高度, 宽度），结果也是 "
        "(c_o, n_h, n_w)。形状为 (n_h, n_w, c_o) 的结果数值正确但布局错误，下一层会读错它。",
        "把通道轴放在最前面；如果为了计算把它移到了最后，返回之前再移回来（permute）。",
    ),
    "bias_broadcast": (
        "偏置沿错误的轴相加了",
        "广播从右边开始对齐形状：形状为 (c_o,) 的偏置加到 (c_o, n_h, n_w) 的张量上时，"
        "对应的是宽度，"
        "而不是通道。当 n_w = c_o 时它能运行而不报错，并把 b[j] 加到每个通道的第 j 列上。",
        "让偏置的形状与通道轴对齐，即 (c_o, 1, 1)，这样 b[d] 就加到输出通道 d 的每个像素上。",
    ),
    # --- signals (lesson 02) ---
    "not_full": (
        "只得到了完整卷积的一部分",
        "完整卷积保留两个序列有任何重叠的每一个平移：(f ∗ g)[i] = Σ_a f[a] · g[i − a]，"
        "i = 0, …, n + m − 2，所以它的长度是 n + m − 1。只保留一个序列完全落在另一个序列内部的"
        "平移（有效部分），或只保留与较长输入一样多的输出，都会丢掉两端的部分重叠。",
        "手算 [1, 2] 和 [1, 1, 1] 的完整卷积：它有 4 个元素。",
    ),
    "order_dependent": (
        "结果依赖于参数的顺序",
        "卷积满足交换律，f ∗ g = g ∗ f，所以无论哪个序列更长，convolve1d(f, g) 和 convolve1d(g, f) "
        "都必须相等。你的结果只对一种顺序正确：某处假定了第一个（或第二个）参数是较长的那个。",
        "在第一个参数比第二个短的用例上运行你的函数，并对照两个长度 n 和 m "
        "检查每个循环边界和切片。",
    ),
    # --- speed ---
    "too_slow": (
        "正确，但太慢",
        "逐个访问输出像素的 Python 循环要执行成千上万次微小的张量运算。改为对少数几个卷积核偏移"
        "循环（或者把窗口展开），用几次整体数组运算就能完成同样的工作。",
        "对卷积核的元素 (a, b) 循环，把 K[a, b] 乘以 X 的一个平移切片累加起来。",
    ),
}

#: Every template of ``messages.TEXT_EN``, with the same placeholders.
TEXT_ZH: dict[str, str] = {
    # headers
    "header.pass": "✔ {exercise}: {confirm}",
    "header.pass_hidden": "✔ {exercise} (隐藏测试): {confirm}",
    "header.fail": "✗ {exercise}:",
    "header.fail_hidden": "✗ {exercise} (隐藏测试):",
    "verdict.title": "{title}  [{key}]",
    "verdict.why": "原因：{text}",
    "verdict.hint": "提示：{text}  → {section}",
    "picture.title": "{exercise}：期望值、你的结果及其差",
    "note.printed": "你的代码打印了 {lines} 行、{chars} 个字符；开头部分如下：",
    "note.flood": "注意：检查期间你的代码打印了 {chars} 个字符（只显示开头部分）。"
    "在循环中打印会让代码慢很多：调试完成后请删掉调试用的 print。",
    # words
    "word.expected": "期望值",
    "word.got": "你的结果",
    "word.none": "无",
    "word.response": "响应",
    "word.along": "在沿 v 的斜坡上",
    "word.across": "在垂直于 v 的斜坡上",
    "word.epoch": "迭代周期",
    "word.difference": "你的结果 − 期望值",
    # large outputs
    "render.cells_differ": "{total} 个元素中有 {wrong} 个不同；差别最大的在 [{i}, {j}]："
    "期望值 {expected}，你的结果 {got}。",
    "render.window": "第 {r0}–{r1} 行，第 {c0}–{c1} 列：",
    # values that are not shown whole
    "word.scalar": "标量",
    "render.tensor_shape": "<形状为 {shape} 的张量>",
    "render.empty": "<空张量，形状为 {shape}>",
    "render.tensor_summary": "<{shape} 的张量，{dtype}>",
    "render.tensor_list": "<由 {n} 个张量组成的 {kind}，{shapes}>",
    "render.no_error_message": "<无法显示错误信息>",
    # what was wanted
    "want.function": "一个函数",
    "want.class": "一个类（Conv2D 类本身，而不是它的实例）",
    "want.tensor": "一个 torch 张量",
    "want.kernel": "一个二维 torch 张量（卷积核）",
    "want.shape_tuple": "由两个整数组成的元组（高度, 宽度）",
    "want.count": "一个整数（int）",
    "want.three_tensors": "由三个二维张量组成的元组（X ⋆ K, Xᵀ ⋆ K, X ⋆ Kᵀ）",
    "want.number": "一个数（float，或只含一个值的张量）",
    "want.k_losses": "一个二元组 (K, losses)",
    # case labels
    "case.lesson_example": "课程中的示例",
    "case.lesson_edge": "课程中 6×8 的边缘图像，K = [[1, -1]]",
    "case.one_by_one": "1×1 的卷积核",
    "case.full_kernel": "与输入一样大的卷积核",
    "case.non_square_input": "非正方形的输入",
    "case.non_square_kernel": "非正方形的卷积核",
    "case.tall_input": "高大于宽的输入",
    "case.square": "正方形的输入和卷积核",
    "case.image_sized": "较大的图像",
    "case.large_image": "大图像",
    "case.int_image": "整数图像和带小数的卷积核",
    "case.gradient": "经过 corr2d 的梯度（K 需要梯度）",
    "case.dense_count": "全连接层的权重数",
    "case.local_count": "局部窗口的权重数",
    "case.dense_small": "较小的输入和隐藏层",
    "case.dense_same": "与输入一样大的隐藏层",
    "case.dense_other": "形状不同的隐藏层和输入",
    "case.delta_zero": "Δ = 0（1×1 的窗口）",
    "case.delta_one": "Δ = 1",
    "case.delta_one_tight": "Δ = 1，只有一行隐藏单元",
    "case.delta_two": "Δ = 2",
    "case.grad_small": "较小的输入",
    "case.grad_wide": "宽的输入",
    "case.grad_tall": "高的输入",
    "case.grad_square": "正方形的输入",
    "case.horizontal_edges": "horizontal_edge_image()（水平边缘）",
    "case.vertical_edges": "edge_image()（只有垂直边缘）",
    "case.random_horizontal": "带水平边缘的图像",
    "case.random_vertical": "只有垂直边缘的图像",
    "case.direction": "一个方向 v",
    "case.quadratic_width": "沿宽度的二次函数",
    "case.linear_width": "沿宽度的线性斜坡",
    "case.quadratic_height": "沿高度的二次函数",
    "case.blur_size": "一个模糊卷积核的大小",
    "case.derivative_order": "一个导数的阶数",
    "case.lesson_training": "课程中的训练示例（6×8 的边缘图像）",
    "case.random_training": "随机的训练问题",
    "case.recover_lesson": "恢复课程中的卷积核",
    "case.recover_list": "图像列表",
    "case.recover_stack": "三维的图像堆叠",
    "case.speed_pass": "与一个和课程中开销相当的循环比速度（64×64 的图像，3×3 的卷积核）",
    "case.speed_full": "与 F.conv2d 比速度（256×256 的图像，3×3 的卷积核）",
    "case.grey_image": "课程中把整数 RGB 图像转换为灰度图像",
    "case.one_channel": "一个输入通道和一个输出通道",
    "case.more_channels": "输出通道多于输入通道",
    "case.fewer_channels": "输出通道少于输入通道",
    "case.square_channels": "输出通道与输入通道一样多",
    "case.bias_trap": "宽度等于输出通道数的图像",
    "case.larger_channels": "带小数值的较大图像",
    "case.signal_example": "课程中的信号 x = [0, 1, 2, 3, 4, 5]，k = [1, 2]",
    "case.one_tap": "长度为 1 的卷积核",
    "case.full_length": "与信号一样长的卷积核",
    "case.asymmetric_kernel": "不对称的卷积核",
    "case.long_signal": "带小数值的较长信号",
    "case.int_signal": "整数信号和带小数的卷积核",
    "case.pair_example": "课程中的一对序列 f = [1, 2, 3]，g = [0, 1, 0.5]",
    "case.single_tap": "长度为 1 的序列",
    "case.shorter_first": "第一个序列比第二个短",
    "case.equal_length": "两个等长的序列",
    "case.longer_first": "第一个序列比第二个长",
    "case.long_pair": "带小数值的较长的一对序列",
    "case.int_pair": "整数和带小数的序列",
    # confirmations
    "confirm.param-counts": "两个权重数在 {n} 个用例上都正确。",
    "confirm.dense-layer": "H = U + Σ W·X 在 {n} 个用例上正确（正方形和非正方形）。",
    "confirm.dense-weight": "对 Δ = 0, 1, 2，四维权重都正确（{n} 个用例）。",
    "confirm.output-shape": "输出形状在 {n} 个用例上正确（正方形、非正方形、1×1 "
    "和与输入同样大小的卷积核）。",
    "confirm.corr2d": "互相关运算在 {n} 个用例上正确（课程中的示例、非正方形的输入和卷积核、1×1 和"
    "与输入同样大小的卷积核、整数图像、较大的图像），并且梯度能传到 K。",
    "confirm.corr2d-fast": "互相关运算在 {n} 个用例上正确（课程中的示例、非正方形的输入和卷积核、"
    "1×1 和"
    "与输入同样大小的卷积核、整数图像、较大的图像）。",
    "confirm.corr2d-matmul": "M @ X.reshape(-1) 在 {n} 个用例上与 corr2d 一致。",
    "confirm.convolve2d": "真正的卷积在 {n} 个用例上正确（正方形和非正方形、整数图像）。",
    "confirm.conv2d-layer": "weight 和 bias 是形状正确的参数，forward 是 corr2d + bias，"
    "并且梯度能传到两者（{n} 个用例）。",
    "confirm.kernel-grad": "dL/dK 在 {n} 个用例上正确。",
    "confirm.horizontal-kernel": "对水平边缘有响应，对平坦区域和垂直边缘没有响应（{n} 幅图像）。",
    "confirm.directional-kernel": "对 {n} 个方向，垂直于 v 时为零，沿 v 时为常数。",
    "confirm.second-derivative": "沿宽度求 ∂²/∂x² 的最小卷积核（{n} 幅图像）。",
    "confirm.blur-kernel": "非负、和为 1，并且权重分散开（{n} 种大小）。",
    "confirm.min-kernel-size": "对 {n} 个导数阶数都正确。",
    "confirm.train-loop": "损失和最终的卷积核与梯度下降完全一致（{n} 个用例）。",
    "confirm.recover-kernel": "卷积核恢复到了 5% 以内（{n} 个用例）。",
    "confirm.corr2d-speed-pass": "正确，而且足够快。",
    "confirm.corr2d-speed-full": "正确，而且接近 F.conv2d。",
    "confirm.conv1x1": "1×1 卷积在 {n} 个用例上正确（输入和输出各 1 到 5 个通道、整数图像）。",
    "confirm.corr1d": "一维互相关运算在 {n} 个用例上正确（卷积核长度从 1 到信号的长度、整数信号）"
    "。",
    "confirm.convolve1d": "完整卷积在 {n} 对序列上正确，两种参数顺序都对。",
    # case descriptions
    "detail.case": "用例：{label}",
    "detail.hidden_case": "隐藏用例：{label}（{inputs}）。隐藏用例是随机的，每个学生都不同；"
    "不显示它们的值。",
    "detail.case_call": "用例：{label}。调用：{call}",
    "detail.case_poly": "用例：{label}。X = {c} + {b}·{x} + {a}·{x}²（{x} 为像素的 {x} 下标）",
    "detail.expected_got_inline": "期望值 {expected}，你的结果 {got}",
    "detail.shapes": "期望的形状为 {expected}，你的结果形状为 {got}",
    "detail.where": "  位于第 {line} 行：{code}",
    # calls and returned objects
    "detail.not_defined": "未定义：{names}。",
    "detail.probe_error": "检查你的对象时出错，{type}：{message}",
    "detail.internal_error": "{type}: {message}",
    "detail.timeout": "{symbol} 没有在 {limit} 秒内返回。",
    "detail.raised": "{symbol} 抛出了 {type}：{message}",
    "detail.not_implemented": "{symbol} 仍然抛出 NotImplementedError。",
    "detail.still_none": "{symbol} 仍然是 None，即练习的占位值。",
    "detail.window_error": "这个错误来自尺寸不匹配：很可能某个循环多走了一步，"
    "使窗口在图像边缘被截断了。",
    "detail.not_callable": "期望得到名为 {symbol} 的{want}，却得到一个 {type}：{value}。"
    "请传入函数本身（check_xxx({symbol})），而不是调用它的结果。",
    "detail.returned_none": "{symbol} 返回了 None。",
    "detail.not_a_tensor": "{symbol} 返回了一个 {type}，而不是 torch "
    "张量（而且它的值也不是期望的值）。",
    "detail.not_a_tensor_right": "{symbol} 返回了一个值正确的 {type}，但它不是 torch 张量。",
    "detail.wrong_type": "{symbol} 返回了一个 {type}（{value}）；期望的是{want}。",
    "detail.value_type": "{symbol} 是一个 {type}（{value}）；期望的是一个二维 torch 张量。",
    "detail.unreadable": "{symbol} 返回了一个无法读取其值的 {type}。",
    "detail.wrong_device": "{symbol} 返回的张量在设备 '{device}' 上，而输入在 'cpu' 上。",
    "detail.library_conv": "{symbol} 调用了 {names}。",
    "detail.conv_base": "{symbol} 建立在 {names} 之上：这个练习要求你自己的层"
    "（在 forward 中使用 F.conv2d 或课程中的 torch_corr2d 是可以的）。",
    "detail.conv_part": "{symbol} 包含或运行了 {names}：这个练习要求你自己的层"
    "（在 forward 中使用 F.conv2d 或课程中的 torch_corr2d 是可以的）。",
    "detail.shipped_code": "{symbol} 运行了 {names}。",
    "detail.shipped_base": "{symbol} 建立在 {names} 之上。",
    "detail.recorder_tampered": "{symbol} 运行期间：{reasons}。",
    # what the recorder saw
    "reason.called": "调用了 {name}",
    "reason.mode_stack": "torch 的模式栈被修改了（{name}）",
    "reason.raw_thread": "启动了一个底层线程（{name}）",
    "reason.tensor_subclass": "结果是一个张量子类（{name}），它的代码会在检查读取结果时运行，"
    "也就是在记录结束之后",
    "reason.trace_active": "有一个跟踪函数（sys.settrace：调试器？）处于活动状态",
    "reason.profile_active": "有一个性能分析函数（sys.setprofile）处于活动状态",
    "reason.thread_hooks": "为新线程设置了跟踪或性能分析函数",
    "reason.function_mode": "torch 的 function 模式栈上有一个模式（{name}）",
    "reason.dispatch_mode": "torch 的 dispatch 模式栈上有一个模式（{name}）",
    "reason.function_off": "torch function 处理被关闭了",
    "reason.dispatch_off": "Python dispatch 被关闭了",
    "reason.profile_removed": "记录器的性能分析函数被移除了",
    "reason.function_modes_changed": "torch 的 function 模式被修改了",
    "reason.dispatch_modes_changed": "torch 的 dispatch 模式被修改了",
    "word.aten_convolution": "PyTorch 的卷积算子（aten.convolution）",
    "word.reading_grad": "读取 .grad",
    "detail.rule": "规则：{rule}。",
    "detail.modified_input": "{symbol} 修改了它的输入：{names}。",
    "detail.autograd_causes": "在你的代码中发现：{names}。",
    # shapes
    "detail.extra_dims": "结果的形状为 {got}：值是对的，但多了大小为 1 的维度；期望的是 {want}。",
    "detail.shape_minus": "你的输出形状为 {got}，少了一行或一列；期望的是 "
    "{want} = (n_h − k_h + 1, n_w − k_w + 1)。",
    "detail.shape_plus": "你的输出形状为 {got}，多了一行或一列；期望的是 "
    "{want} = (n_h − k_h + 1, n_w − k_w + 1)。",
    "detail.shape_swapped": "你的输出形状为 {got}：高度和宽度弄反了；期望的是 {want}。",
    "detail.shape_square": "你的输出形状为 {got}，就好像输入或卷积核是正方形的；期望的是 {want}。",
    "detail.shape_padded": "你的输出形状为 {got}，是填充后的大小；期望的是 {want}。",
    "detail.shape_hardcoded": "无论输入是什么，你的输出形状都是 {got}，即课程示例的大小；期望的是 "
    "{want}。",
    "detail.shape_other": "形状为 {got}；期望的是 {want}。",
    # values
    "detail.flipped_both": "你的结果等于真正的卷积：卷积核被上下翻转并左右翻转了。",
    "detail.flipped_rows": "你的结果等于卷积核上下翻转后的互相关运算。",
    "detail.flipped_cols": "你的结果等于卷积核左右翻转后的互相关运算。",
    "detail.not_flipped": "你的结果等于用原样的卷积核做的互相关运算。",
    "detail.flip_one_rows": "你的结果等于只把卷积核上下翻转的结果。",
    "detail.flip_one_cols": "你的结果等于只把卷积核左右翻转的结果。",
    "detail.transposed_kernel": "你的结果等于用转置后的 K（K.T）做的互相关运算。",
    "detail.values_transposed": "你的结果是期望结果的转置：行和列互换了。",
    "detail.int_truncation": "你的结果的 dtype 为 {dtype}，等于截掉小数部分后的期望值。",
    "detail.last_zero": "你的结果除了最后一行或最后一列从未被填写之外都是对的："
    "循环提前一个位置停止了。",
    "detail.lesson_output": "无论输入是什么，你的结果都是课程中的答案 [[19, 25], [37, 43]]。",
    "detail.wrong_values": "形状正确，但数值不同。",
    "detail.backward_error": "通过你的结果做反向传播时出错，{type}：{message}",
    "detail.no_grad_fn": "{symbol} 返回的张量与 K 没有连接（没有 grad_fn），"
    "所以 backward() 之后 K.grad 仍然是 None。",
    "detail.wrong_gradient": "经过 {symbol} 传到 K 的梯度不对：",
    # lesson 01
    "detail.count_bias": "你的计数包含了每个隐藏单元（或每个窗口）的一个偏置。",
    "detail.count_added": "你的计数把输入和隐藏层的大小相加了，而不是相乘。",
    "detail.count_inputs_only": "你的计数是输入像素的个数：这只是一个隐藏单元的权重。",
    "detail.count_hidden_only": "你的计数是隐藏单元的个数：每个单元一个权重，"
    "但实际上每个单元对每个输入像素都有一个权重。",
    "detail.count_squared": "你的计数把输入大小平方了；隐藏层有它自己的大小 m_h × m_w。",
    "detail.window_2delta": "你的计数是 (2Δ)²：漏掉了中心。",
    "detail.window_delta": "你的计数是 Δ²：窗口在两侧都延伸 Δ。",
    "detail.window_delta_plus_one": "你的计数是 (Δ + 1)²：窗口在两侧都延伸 Δ。",
    "detail.window_not_squared": "你的计数是 2Δ + 1：这只是二维窗口的一条边。",
    "detail.weight_shape": "W 的形状为 {shape}（不显示其值）。",
    "detail.summed_hidden": "你的结果形状与输入相同：求和是对隐藏单元的下标 i、j 进行的，"
    "而不是对输入的下标 k、l。",
    "detail.bias_ignored": "你的结果等于不加 U 的加权和。",
    "detail.index_order_hidden": "你的结果用的是 W[k, l, i, j]：隐藏单元的下标和输入的下标互换了。",
    "detail.index_order_input": "你的结果用的是 W[i, j, l, k]：输入的行下标和列下标互换了。",
    "detail.dense_values": "把 H[0, 0] 与 U[0, 0] + Σ_k Σ_l W[0, 0, k, l] · X[k, l] 比较一下。",
    "detail.weight_all_units": "你为每个输入像素都保留了一个隐藏单元，包括窗口超出图像的那些；"
    "只应保留整个窗口都在图像内部的单元（m = n − 2Δ）。",
    "detail.weight_axes": "隐藏单元的轴和输入的轴互换了：W 必须是 (m_h, m_w, n_h, n_w)。",
    "detail.weight_units_off": "隐藏单元的个数差了一个：窗口落在图像内部的位置有 n − 2Δ 个。",
    "detail.weight_unit": "隐藏单元 ({i}, {j}) 在输入上的权重 W[{i}, {j}]：",
    "detail.index_minus": "你的权重等于翻转后卷积核的权重：输入像素取在了 k = i − a，而不是 k = i "
    "+ a。",
    "detail.weight_values": "单元 (i, j) 以输入像素 (i + Δ, j + Δ) 为中心，给偏移 (a, b) 处的像素"
    "权重 V[a + Δ, b + Δ]；其余权重都为 0。",
    # kernel matrix
    "detail.matrix_transposed": "你的 M 形状为 (n_h·n_w, o_h·o_w)，是期望形状 (o_h·o_w, n_h·n_w) "
    "的转置。",
    "detail.matrix_4d": "你的 M 是四维的；把它展平为 (o_h·o_w, n_h·n_w)。",
    "detail.matrix_rows": "你的 M 有 {rows} 行；每个输出像素应占一行：{want}。",
    "detail.flatten_columns": "列是按列优先顺序（l·n_h + k）对应输入像素的。",
    "detail.flatten_rows": "行是按列优先顺序（j·o_h + i）对应输出像素的。",
    "detail.flatten_both": "行和列都按列优先顺序排列。",
    "detail.matrix_values": "M 的第 i·o_w + j 行必须在输入像素 (i + a, j + b) 所在的列上为 K[a, "
    "b]，"
    "其余为 0。",
    # lesson 03
    "detail.layer_init": "Conv2D(kernel_size={kernel_size})",
    "detail.not_module": "调用 Conv2D(kernel_size) 得到的是一个 {type}，而不是 nn.Module。",
    "detail.no_weight": "这个层没有张量属性 `weight`。它的参数：{parameters}。",
    "detail.no_bias_attribute": "这个层没有张量属性 `bias`。它的参数：{parameters}。",
    "detail.not_registered": "self.{name} 是普通张量，不在 layer.parameters() 中（找到的是："
    "{parameters}）。",
    "detail.param_shape": "self.{name} 的形状为 {got}；期望的是 {want}。",
    "detail.forward_no_bias": "输出等于不加偏置的 corr2d(X, weight)。",
    "detail.no_requires_grad": "self.{name} 不需要梯度（requires_grad 为 False），"
    "所以它得不到梯度。",
    "detail.no_param_grad": "backward() 之后，self.{name}.grad 仍然是 None。",
    "detail.wrong_param_grad": "self.{name} 的梯度不对：",
    "detail.used_autograd": "{symbol} 用了自动微分：{names}。",
    # lesson 04
    "detail.kernel_1d": "{symbol} 的形状为 {shape}：这是一个一维张量。",
    "detail.kernel_not_2d": "{symbol} 的形状为 {shape}；卷积核是二维的。",
    "detail.kernel_too_big": "{symbol} 的形状为 {shape}，比 {image} 的图像还大。",
    "detail.flat_response": "卷积核的元素之和为 {total}，所以每个平坦窗口都会给出非零响应。",
    "detail.misses_horizontal": "有的水平边缘完全没有响应。",
    "detail.responds_vertical": "这幅图像只有垂直边缘，响应却不为零。",
    "detail.blind_ramps": "在两个斜坡上响应都为 0：卷积核看不到任何强度变化。",
    "detail.across_v": "沿 v 的响应为 0，垂直于 v 的响应却不为零：这个卷积核检测的是与 v 垂直的变化"
    "（即沿 v 延伸的边缘）。",
    "detail.v_swapped": "这个卷积核的表现就像 v 是 (v2, v1)：v1 是沿高度（行，i）的变化，"
    "v2 是沿宽度（列，j）的变化。",
    "detail.across_nonzero": "垂直于 v 的响应必须处处为 0。",
    "detail.want_constant": "期望处处为常数响应 {value}。",
    "detail.not_smallest": "你的卷积核形状为 {shape}；最小的是 1×3。",
    "detail.first_derivative": "这个卷积核对沿宽度的线性斜坡有响应，而线性斜坡的二阶导数为 0。",
    "detail.second_along_height": "这个卷积核求的是沿高度（行）的二阶导数，而不是沿宽度（列）的。",
    "detail.second_mixed": "这个卷积核对沿高度的变化也有响应。",
    "detail.second_scale": "在 x² 上你的卷积核给出的是 {value}，而不是 2。",
    "detail.kernel_sum": "元素之和为 {total}。",
    # lesson 05
    "detail.losses_type": "losses 是一个 {type}；期望的是由浮点数组成的列表（用 loss.item()）。",
    "detail.epoch_count": "num_epochs = {want} 时得到了 {got} 个损失。",
    "detail.loss_after_step": "你的 losses 是每次更新之后的损失；应在更新之前记录损失。",
    "detail.final_kernel": "损失是对的，但返回的卷积核不是训练后的那个。",
    "detail.recover_error": "最大的差为 {error}；允许的上限为 {tol}。",
    # lessons 03-05: the input's gradient, stacking, diagonal edges, integrals, curvature
    "case.rf_d2l": "《动手学深度学习》中的例子：两个 2×2 的层",
    "case.rf_single": "单独一层",
    "case.rf_mixed": "先是一个行卷积核，再是一个列卷积核",
    "case.rf_square_stack": "正方形卷积核的堆叠",
    "case.rf_rectangular": "矩形卷积核的堆叠",
    "case.rf_deep": "很深的堆叠",
    "case.diagonal_image": "n×n 的对角线图像",
    "case.running_sum": "滑动和",
    "case.running_average": "滑动平均",
    "case.lr_lesson": "课程中 6×8 的图像，1×2 的卷积核",
    "case.positive_image": "像素值在 0 和 1 之间的图像",
    "case.signed_image": "像素值有正有负的图像",
    "case.int_pixels": "由小整数组成的图像",
    "confirm.input-grad": "dL/dX 在 {n} 个用例上正确。",
    "confirm.receptive-field": "感受野对 {n} 种层的堆叠都正确。",
    "confirm.diagonal-edges": "三个响应对 {n} 种图像大小都正确。",
    "confirm.integral-kernel": "滑动和与滑动平均都正确（{n} 个用例）。",
    "confirm.lr-limit": "最大的稳定学习率在 {n} 幅图像上正确。",
    "detail.grad_unflipped": "你的结果等于用原样（未翻转）的 K 对填充后的 dY 做的互相关运算。",
    "detail.input_grad_values": "dL/dX 的元素 (p, q) 为 Σ_a Σ_b K[a, b] · dY[p − a, q − b]，"
    "其中 dY 在其范围之外取 0。",
    "detail.rf_stack": "{layers} 层，卷积核 {stack}，步幅为 1，无填充。",
    "detail.rf_sum": "你的答案是卷积核大小之和。",
    "detail.rf_product": "你的答案是卷积核大小之积。",
    "detail.rf_last": "你的答案是最后一个卷积核的大小。",
    "detail.rf_largest": "你的答案是最大的卷积核的大小。",
    "detail.rf_minus_one": "你的答案在每个方向上都小了一个像素。",
    "detail.rf_plus_one": "你的答案在每个方向上都大了一个像素。",
    "detail.rf_swapped": "你的答案把高度和宽度弄反了。",
    "detail.transposes_swapped": "你的第二个结果是 X ⋆ Kᵀ，第三个是 Xᵀ ⋆ K：两者的位置互换了。",
    "detail.diagonal_part": "在 {part} 中（元组中下标为 {index} 的项）：",
    "detail.diagonal_values": "非零元素不在边缘所在的位置：对输出的每一行，"
    "找出横跨对角线的那一个窗口。",
    "detail.integral_sum_not_mean": "响应是滑动和；要求的是平均。",
    "detail.integral_mean_not_sum": "响应是滑动平均；要求的是和。",
    "detail.integral_values": "每个响应必须是 x[i, j] + … + x[i, j + m − 1]（求平均时再除以 m）："
    "窗口中的每个像素都只计一次，且权重相同。",
    "detail.lr_limit": "期望 2 / λ_max = {expected}（λ_max = {top}，损失的 Hessian "
    "矩阵的最大特征值），"
    "你的结果为 {got}。",
    # channels (lesson 01)
    "detail.channel_shapes": "X 的形状为 {x}（c_i = {c_i}），W 为 {w}，b 为 {b}：结果必须是 "
    "{want} = (c_o, n_h, n_w)。",
    "detail.output_channel": "输出通道 {d}（第一个不同的通道）：",
    "detail.channel_transposed": "你的结果等于 Σ_c W[c, d] · X[c] + b[d]：读取 W "
    "时它的两个轴互换了。",
    "detail.channels_last_values": "你的结果形状为 {got}：值是对的，但通道轴在最后。",
    "detail.channels_last_shape": "你的结果形状为 {got}：通道在最后；期望的是 {want}。",
    "detail.dropped_channel_axis": "你的结果形状为 {got}：缺少通道轴（这里大小为 1）；期望的是 "
    "{want}。",
    "detail.bias_width": "你的结果等于把 b[j] 加到第 j 列、而不是把 b[d] 加到通道 d 的 1×1 卷积。",
    "detail.bias_mismatch": "不匹配的尺寸很可能是偏置（c_o 个元素）和输出的最后一个轴（宽度）。",
    "detail.conv1x1_values": "输出通道 d 在像素 (i, j) 处为 b[d] + Σ_c W[d, c] · X[c, i, j]："
    "手算一个像素比较一下。",
    # signals (lesson 02)
    "detail.call_swapped": "交换参数后的调用 convolve1d(g, f)：",
    "detail.length_minus": "你的结果长度为 {got}，少了一个；期望的是 {want}。",
    "detail.length_plus": "你的结果长度为 {got}，多了一个；期望的是 {want}。",
    "detail.length_same": "你的结果长度为 {got}，与信号一样长：这是填充后（“same”）的输出；"
    "期望的是有效长度 {want} = n − m + 1。",
    "detail.length_full": "你的结果长度为 {got} = n + m − 1，是完整（填充后）的输出；"
    "期望的是有效长度 {want} = n − m + 1。",
    "detail.length_other": "你的结果形状为 {got}；期望的是长度为 {want} 的一维张量。",
    "detail.length_extra_dims": "你的结果形状为 {got}：值是对的，但多了大小为 1 的维度；"
    "期望的是长度为 {want} 的一维张量。",
    "detail.flipped_1d": "你的结果等于用反转后的卷积核 k[m − 1 − a] 做的互相关运算："
    "这是真正的卷积。",
    "detail.signal_last_zero": "你的结果除了最后一个元素从未被填写之外都是对的："
    "循环提前一个位置停止了。",
    "detail.signal_lesson_output": "无论输入是什么，你的结果都是课程中的答案 [2, 5, 8, 11, 14]。",
    "detail.corr1d_values": "y[i] = Σ_a x[i + a] · k[a]，a = 0, …, m − 1：手算一下 y[0]。",
    "detail.full_valid": "你的结果长度为 {got}，即有效部分 |n − m| + 1；完整卷积的长度为 "
    "{want} = n + m − 1。",
    "detail.full_same": "你的结果长度为 {got}，即其中一个输入的长度；完整卷积的长度为 "
    "{want} = n + m − 1。",
    "detail.full_minus": "你的结果长度为 {got}，少了一个：缺少最后一处重叠 f[n − 1] · g[m − 1]；"
    "期望的是 {want} = n + m − 1。",
    "detail.full_plus": "你的结果长度为 {got}，多了一个；期望的是 {want} = n + m − 1。",
    "detail.full_correlation": "你的结果等于完整的互相关运算：两个序列中有一个没有反转。",
    "detail.full_last_zero": "你的结果除了最后一个元素为 0 之外都是对的：对 i "
    "的循环提前一步停止了。",
    "detail.full_lesson_output": "无论输入是什么，你的结果都是课程中的答案 [0, 1, 2.5, 4, 1.5]。",
    "detail.full_values": "(f ∗ g)[i] = Σ_a f[a] · g[i − a]，对所有满足 0 ≤ a < n 且 0 ≤ i − a < m "
    "的 a "
    "求和：手算一下第 1 个元素。",
    "detail.only_one_order": "convolve1d({first}, {second}) 是对的，convolve1d({second}, {first}) "
    "却不对：",
    # predictions (never graded)
    "prediction.missing": "✎ 还没有预测：{asks}  把上面单元格中的 None 替换掉并运行它，"
    "然后运行这个单元格。",
    "prediction.right": "✔ 对了：{value}。下一个单元格会说明原因。",
    "prediction.wrong": "✗ 不太对：你预测的是 {value}。{hint}  运行下一个单元格看看。",
    "prediction.unreadable": "? 你的预测 {value} 不是{kind}：{asks}",
    "prediction.kind.number": "一个数",
    "prediction.kind.position": "一个二元组（行, 列）",
    "prediction.l01-invariance-factor.asks": "百万像素层的 10¹² 个权重，是施加平移不变性后"
    "剩下的权重数的多少倍？（一个数，例如 1e3）",
    "prediction.l01-invariance-factor.hint": "平移不变性使每个偏移 (a, b) 只剩一个权重，"
    "而每个偏移有 "
    "2·1000 − 1 种取值；用 10¹² 除以偏移的个数。",
    "prediction.l01-shifted-peak.asks": "对平移后的图像，响应的峰值在哪里？（一个二元组（行, 列）"
    "）",
    "prediction.l01-shifted-peak.hint": "每个位置用的都是同一个卷积核，所以响应随图案一起移动。",
    "prediction.l02-nonzeros.asks": "M 的 4 × 16 = 64 个元素中有多少个不为零？（一个数）",
    "prediction.l02-nonzeros.hint": "按行数：每个输出位置占一行，每行恰好包含 3×3 "
    "卷积核的每个元素各一次。",
    "prediction.l02-impulse.asks": "左上角的输出 Y[0, 0] 是多少？（一个数）",
    "prediction.l02-impulse.hint": "Y[0, 0] = Σ_a Σ_b K[a, b] · X[a, b]，而 X 除了 (2, 2) "
    "处之外都为 0："
    "K 的哪个元素落在这个亮像素上？",
    "prediction.l03-grad-entry.asks": "在条带图像上，对 L = sum(Y)，dL/dK[0, 0] 是多少？（一个数）",
    "prediction.l03-grad-entry.hint": "K[0, 0] 乘的是每个窗口左上角的像素，所以 dL/dK[0, 0] 是 X 在"
    "左边方框覆盖的那些列上的和：把方框中的值加起来。",
    "prediction.l04-transposed-nonzeros.asks": "torch_corr2d(X_t, K) 有多少个元素不为零？"
    "（一个数）",
    "prediction.l04-transposed-nonzeros.hint": "K 把每个像素与它右边的邻居比较；沿着一条水平条带，"
    "这样的两个邻居相差多少？",
    "prediction.l05-lr-limit.asks": "在 6×8 的问题上，梯度下降仍然收敛的最大学习率是多少？"
    "（一个数，例如 0.05）",
    "prediction.l05-lr-limit.hint": "AᵀA 的特征向量是 (1, 1) 和 (1, −1)："
    "分别用它乘以这两个向量求出特征值，"
    "乘以 2 得到 H = 2 AᵀA 的特征值，再取 2 / λ_max。",
    # speed
    "detail.loop_extrapolated": "一个与课程中的 corr2d "
    "开销相当的二重循环（每个输出元素做一次窗口大小的"
    "加法和一次求和，并非互相关运算；在 {total} 个输出行中的 {rows} 行上计时后按比例放大）",
    "detail.speed_pass": "在 {n}×{n}、3×3 卷积核的情况下，你的 corr2d_fast 用时 {student}，"
    "{how} 用时 {baseline}：你的快 {ratio} 倍（要求 ≥ {need} 倍）。",
    "detail.speed_full": "在 {n}×{n}、3×3 卷积核的情况下，你的 corr2d_fast 用时 {student}，"
    "F.conv2d 用时 {baseline}：你的用时是它的 {ratio} 倍（要求 ≤ {need} 倍）。",
    "detail.speed_timeout": "在 {n}×{n} 上，计时没有在 {limit} 秒内完成。",
    # the rules (convcourse.checks.rules.STATEMENTS)
    "rule.shipped": "不得使用课程或 d2l 自带的代码：不用 convcourse 的代码，不用 d2l.corr2d、"
    "d2l.sgd、"
    "d2l.squared_loss、d2l.SGD、d2l.Trainer 或 d2l.train_*（d2l 的其他辅助函数，如 d2l.try_gpu、"
    "d2l.plot 或 d2l.Timer，可以使用）",
    "rule.library_conv": "不得使用库中的卷积或互相关：不用 F.conv1d/conv2d/conv3d、"
    "conv_transpose*、"
    "torch.conv*、torch.convolution 或任何其他 aten 卷积算子，不用 nn.Conv* 模块，不用 "
    "scipy.signal "
    "或 scipy.ndimage 的 correlate/convolve，不用 numpy.convolve/correlate（可以使用 unfold、"
    "as_strided、einsum、matmul 和 fft）",
    "rule.conv_module": "不得使用 nn.Conv* 模块（nn.Conv2d、nn.LazyConv2d、nn.ConvTranspose2d……），"
    "既不能作为基类，也不能作为子模块（在 forward 中使用 F.conv2d 是可以的）",
    "rule.autograd": "不得用自动微分得出答案：不用 .backward()，不用 torch.autograd.*，不读取 .grad"
    "（手动推导梯度）",
}
